package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.RecordSerdes;
import io.fractalrmo.streams.Sources;
import io.fractalrmo.streams.StreamsSettings;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

/**
 * Protocol updater. Two key spaces:
 * <ul>
 *   <li>task id: action items and error events → failed actions, re-keyed by rule id
 *       ({@link FailedActionCollector});</li>
 *   <li>rule id: patterns (re-keyed), failed actions and trial validation outcomes (re-keyed
 *       by {@code trial.rule_id}) → {@link ProtocolUpdater} → rules on
 *       {@code fractal.protocol-rules}, trials on {@code fractal.rule-trials}, trial action
 *       items on {@code fractal.action-items}.</li>
 * </ul>
 */
public final class ProtocolUpdaterTopology {

  public static final String RECENT_ACTIONS_STORE = "rules-recent-actions";
  public static final String RULES_STORE = "rules-latest";
  public static final String TRIALS_STORE = "rules-trials";
  public static final String OUTCOMES_STORE = "rules-trial-outcomes";
  public static final String FAILED_ACTIONS_STORE = "rules-failed-actions";
  public static final String LAST_SEEN_STORE = "rules-last-seen";

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
    builder.addStateStore(Stores.windowStoreBuilder(Stores.persistentWindowStore(
            RECENT_ACTIONS_STORE, r.actionRetention(), r.actionRetention(), false),
        Serdes.String(), serdes.value(ActionItem.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(RULES_STORE),
        Serdes.String(), serdes.value(ProtocolRule.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TRIALS_STORE),
        Serdes.String(), serdes.value(RuleTrial.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(OUTCOMES_STORE), Serdes.String(),
        serdes.value(ValidationOutcome.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(FAILED_ACTIONS_STORE), Serdes.String(),
        serdes.value(ActionItem.class)));
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(LAST_SEEN_STORE), Serdes.String(), Serdes.Long()));

    KStream<String, ActionItem> failedActions =
        Sources.records(sources.stream(topics.actionItems(), ActionItem.class))
            .merge(Sources.records(sources.stream(topics.errors(), ErrorEvent.class)),
                Named.as("rules-merge-actions-and-errors"))
            .process(() -> new FailedActionCollector(r), Named.as("rules-collect-failed"),
                RECENT_ACTIONS_STORE)
            .repartition(Repartitioned.with(Serdes.String(), serdes.value(ActionItem.class))
                .withName("rules-failed-by-rule"));

    KStream<String, ErrorPattern> patterns = emitted
        .filter((k, p) -> p != null && ProtocolUpdater.proposes(p),
            Named.as("rules-patterns-with-fix"))
        .selectKey((k, p) -> RuleIds.ruleId(p.getPatternKey(), p.getSuggestedAction()),
            Named.as("rules-pattern-rule-id"))
        .repartition(Repartitioned.with(Serdes.String(), serdes.value(ErrorPattern.class))
            .withName("rules-patterns-by-rule"));

    KStream<String, ValidationOutcome> trialOutcomes = sources.stream(
            topics.validationOutcomes(), ValidationOutcome.class)
        .filter((k, o) -> o != null && o.getTrial() != null, Named.as("rules-trial-outcomes"))
        .selectKey((k, o) -> o.getTrial().getRuleId(), Named.as("rules-outcome-rule-id"))
        .repartition(Repartitioned.with(Serdes.String(), serdes.value(ValidationOutcome.class))
            .withName("rules-outcomes-by-rule"));

    Sources.records(patterns)
        .merge(Sources.records(failedActions), Named.as("rules-merge-failed"))
        .merge(Sources.records(trialOutcomes), Named.as("rules-merge-outcomes"))
        .process(() -> new ProtocolUpdater(r), Named.as("rules-update"), RULES_STORE,
            TRIALS_STORE, OUTCOMES_STORE, FAILED_ACTIONS_STORE, LAST_SEEN_STORE)
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

  @SuppressWarnings("unchecked")
  private static <T extends SpecificRecord> KStream<String, T> narrow(
      KStream<String, SpecificRecord> s, Class<T> type) {
    return (KStream<String, T>) (KStream<String, ?>) s;
  }
}
