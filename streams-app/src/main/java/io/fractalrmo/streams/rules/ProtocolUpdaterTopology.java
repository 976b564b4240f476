package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleSample;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.CommitSoon;
import io.fractalrmo.streams.JsonSerde;
import io.fractalrmo.streams.RecordSerdes;
import io.fractalrmo.streams.Sources;
import io.fractalrmo.streams.StreamsSettings;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.StreamPartitioner;
import org.apache.kafka.streams.state.Stores;

/**
 * Protocol updater. Two key spaces:
 * <ul>
 *   <li>task id: action items, execution results, validation outcomes and error events →
 *       {@link OutcomeCollector}: failed actions re-keyed by the id of the rule their pattern
 *       suggests ({@code rules-failed-by-rule}), and every live outcome broadcast to all
 *       partitions ({@code rules-live-outcomes}, a multicast partitioner), since every rule
 *       needs the live traffic of its scope;</li>
 *   <li>rule id: patterns (re-keyed), failed actions, live outcomes and trial validation
 *       outcomes (re-keyed by {@code trial.rule_id}) → {@link ProtocolUpdater} → rules on
 *       {@code fractal.protocol-rules}, trials on {@code fractal.rule-trials}, trial action
 *       items on {@code fractal.action-items}.</li>
 * </ul>
 */
public final class ProtocolUpdaterTopology {

  public static final String RECENT_ACTIONS_STORE = "rules-recent-actions";
  public static final String GENERATED_CODE_STORE = "rules-generated-code";
  public static final String RECENT_ERRORS_STORE = "rules-recent-errors";
  public static final String FAILED_OUTCOMES_STORE = "rules-failed-outcomes";
  public static final String RULES_STORE = "rules-latest";
  public static final String TRIALS_STORE = "rules-trials";
  public static final String OUTCOMES_STORE = "rules-trial-outcomes";
  public static final String FAILED_ACTIONS_STORE = "rules-failed-actions";
  public static final String LAST_SEEN_STORE = "rules-last-seen";
  public static final String GUARD_POOL_STORE = "rules-guard-pool";
  public static final String LIVE_STORE = "rules-live";

  private ProtocolUpdaterTopology() {
  }

  public static Topology build(TopicCatalog topics, StreamsSettings settings, RecordSerdes serdes) {
    Sources sources = new Sources(new StreamsBuilder(), serdes);
    addTo(sources, topics, settings);
    return sources.builder().build();
  }

  /** The updater alone, reading the patterns from {@code fractal.error-patterns}. */
  public static void addTo(Sources sources, TopicCatalog topics, StreamsSettings settings) {
    addTo(sources, topics, settings, sources.stream(topics.errorPatterns(), ErrorPattern.class));
  }

  /**
   * The updater fed by {@code emitted} — in the whole app, the pattern extractor's output
   * stream itself, which saves reading the patterns back from their topic (one transactional
   * hop, up to a commit interval, less between a failure and its rule).
   */
  public static void addTo(Sources sources, TopicCatalog topics, StreamsSettings settings,
      KStream<String, ErrorPattern> emitted) {
    StreamsBuilder builder = sources.builder();
    RecordSerdes serdes = sources.serdes();
    StreamsSettings.Rules r = settings.rules();
    Duration keep = r.actionRetention();
    io.fractalrmo.runtime.trace.Tracing tracing = io.fractalrmo.runtime.trace.Tracing.process();
    builder.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(
            RECENT_ACTIONS_STORE, keep, keep, false),
        Serdes.String(), serdes.value(ActionItem.class)));
    builder.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(
        GENERATED_CODE_STORE, keep, keep, false), Serdes.String(), Serdes.String()));
    builder.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(
        RECENT_ERRORS_STORE, keep, keep, false), Serdes.String(), serdes.value(ErrorEvent.class)));
    builder.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(
            FAILED_OUTCOMES_STORE, keep, keep, false), Serdes.String(),
        serdes.value(ValidationOutcome.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(RULES_STORE),
        Serdes.String(), serdes.value(ProtocolRule.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TRIALS_STORE),
        Serdes.String(), serdes.value(RuleTrial.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(OUTCOMES_STORE), Serdes.String(),
        serdes.value(ValidationOutcome.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(FAILED_ACTIONS_STORE), Serdes.String(),
        serdes.value(RuleSample.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(LAST_SEEN_STORE), Serdes.String(), Serdes.Long()));
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(GUARD_POOL_STORE), Serdes.String(),
        serdes.value(RuleSample.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(LIVE_STORE), Serdes.String(),
        JsonSerde.of(LiveWatch.class)));

    Map<String, KStream<String, RuleSample>> samples =
        Sources.records(sources.stream(topics.actionItems(), ActionItem.class))
            .merge(Sources.records(sources.stream(topics.executionResults(),
                ExecutionResult.class)), Named.as("rules-merge-actions-and-results"))
            .merge(Sources.records(sources.stream(topics.validationOutcomes(),
                ValidationOutcome.class)), Named.as("rules-merge-outcomes-in"))
            .merge(Sources.records(sources.stream(topics.errors(), ErrorEvent.class)),
                Named.as("rules-merge-actions-and-errors"))
            .process(() -> new OutcomeCollector(r), Named.as("rules-collect-outcomes"),
                RECENT_ACTIONS_STORE, GENERATED_CODE_STORE, RECENT_ERRORS_STORE,
                FAILED_OUTCOMES_STORE)
            .split(Named.as("rules-samples-"))
            .branch((k, v) -> k.startsWith(OutcomeCollector.LIVE_KEY_PREFIX),
                Branched.as("live"))
            .defaultBranch(Branched.as("failed"));
    KStream<String, RuleSample> failedActions = samples.get("rules-samples-failed")
        .repartition(Repartitioned.with(Serdes.String(), serdes.value(RuleSample.class))
            .withName("rules-failed-by-rule"));
    KStream<String, RuleSample> liveOutcomes = samples.get("rules-samples-live")
        .repartition(Repartitioned.with(Serdes.String(), serdes.value(RuleSample.class))
            .withStreamPartitioner(new Broadcast<>()).withName("rules-live-outcomes"));

    KStream<String, ErrorPattern> patterns = emitted
        .filter((k, p) -> p != null && ProtocolUpdater.proposes(p),
            Named.as("rules-patterns-with-fix"))
        .selectKey((k, p) -> RuleIds.ruleId(p.getPatternKey(), p.getSuggestedAction()),
            Named.as("rules-pattern-rule-id"))
        .processValues(CommitSoon.supplier(sources.pacer()), Named.as("rules-patterns-commit"))
        .repartition(Repartitioned.with(Serdes.String(), serdes.value(ErrorPattern.class))
            .withName("rules-patterns-by-rule"));

    KStream<String, ValidationOutcome> trialOutcomes = sources.stream(
            topics.validationOutcomes(), ValidationOutcome.class)
        .filter((k, o) -> o != null && o.getTrial() != null, Named.as("rules-trial-outcomes"))
        .selectKey((k, o) -> o.getTrial().getRuleId(), Named.as("rules-outcome-rule-id"))
        // the trial is decided when they arrive: readable after this iteration, not the interval
        .processValues(CommitSoon.supplier(sources.pacer()), Named.as("rules-outcomes-commit"))
        .repartition(Repartitioned.with(Serdes.String(), serdes.value(ValidationOutcome.class))
            .withName("rules-outcomes-by-rule"));

    Sources.records(patterns)
        .merge(Sources.records(failedActions), Named.as("rules-merge-failed"))
        .merge(Sources.records(trialOutcomes), Named.as("rules-merge-outcomes"))
        .merge(Sources.records(liveOutcomes), Named.as("rules-merge-live"))
        .process(() -> new ProtocolUpdater(r, tracing), Named.as("rules-update"), RULES_STORE,
            TRIALS_STORE, OUTCOMES_STORE, FAILED_ACTIONS_STORE, LAST_SEEN_STORE, GUARD_POOL_STORE,
            LIVE_STORE)
        .split(Named.as("rules-out-"))
        .branch((k, v) -> v instanceof ActionItem, Branched.withConsumer(s -> narrow(s,
            ActionItem.class).to(topics.actionItems().name(),
            sources.produced(ActionItem.class, "sink-trial-actions")), "trial-actions"))
        .branch((k, v) -> v instanceof RuleTrial, Branched.withConsumer(s -> narrow(s,
            RuleTrial.class).to(topics.ruleTrials().name(),
            sources.produced(RuleTrial.class, "sink-rule-trials")), "trials"))
        .defaultBranch(Branched.withConsumer(s -> narrow(s, ProtocolRule.class)
            .to(topics.protocolRules().name(),
                sources.produced(ProtocolRule.class, "sink-protocol-rules")), "rules"));
  }

  /** Sends a record to every partition: each partition's updater needs all live outcomes. */
  static final class Broadcast<K, V> implements StreamPartitioner<K, V> {

    @Override
    public Optional<Set<Integer>> partitions(String topic, K key, V value, int numPartitions) {
      return Optional.of(IntStream.range(0, numPartitions).boxed().collect(Collectors.toSet()));
    }
  }

  @SuppressWarnings("unchecked")
  private static <T extends SpecificRecord> KStream<String, T> narrow(
      KStream<String, SpecificRecord> s, Class<T> type) {
    return (KStream<String, T>) (KStream<String, ?>) s;
  }
}
