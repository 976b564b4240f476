package io.fractalrmo.app.replay;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialRule;
import io.fractalrmo.contracts.TrialSpec;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.streams.rules.Holdout;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A what-if replay against a running pipeline: reads the live (not trial) executions of a period
 * and their verdicts, re-issues every failed one and a sample of the passed ones on
 * {@code fractal.action-items} under a chosen rule set, waits for their verdicts and reports the
 * difference per rule ({@link ReplayReport}).
 *
 * <p>Replay actions carry a {@code trial} (arm REPLAY, trial and rule id {@code replay.<id>},
 * the rule set in {@code rule_set}): the executor applies exactly that set; the task status,
 * the pattern extractor and the protocol updater leave trial records alone, so a replay never
 * touches a live status, a pattern or a rule. Code a model generated live is re-run as it was
 * (unless the set holds a PROMPT_GUIDELINE, which must generate).
 */
public final class ReplayRunner {

  /** What to replay. */
  public record Options(String since, String rules, int passedSample, Duration timeout) {
    public Options {
      Objects.requireNonNull(since, "since");
      Objects.requireNonNull(rules, "rules");
      if (passedSample < 0) {
        throw new IllegalArgumentException("the passed sample must be >= 0");
      }
    }
  }

  /** Where a period starts: an offset (on every partition) or a time. */
  record Since(Long offset, Instant time) {
    private static final Pattern RELATIVE = Pattern.compile("(\\d+)\\s*([smhd])");

    static Since parse(String text, Clock clock) {
      String t = text.trim();
      if (t.matches("\\d+")) {
        return new Since(Long.parseLong(t), null);
      }
      Matcher m = RELATIVE.matcher(t.toLowerCase(Locale.ROOT));
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
        return new Since(null, clock.instant().minus(d));
      }
      try {
        return new Since(null, Instant.parse(t));
      } catch (DateTimeParseException e) {
        try {
          return new Since(null, clock.instant().minus(Duration.parse(t)));
        } catch (DateTimeParseException e2) {
          throw new IllegalArgumentException("--since: '" + text + "' is neither an offset, an "
              + "ISO-8601 instant (2026-12-01T09:00:00Z), nor a duration back from now (10m, 2h, "
              + "PT30M)");
        }
      }
    }
  }

  private final Endpoints endpoints;
  private final Map<String, Object> serdeConfig;
  private final Options options;
  private final PrintStream out;
  private final Clock clock;

  public ReplayRunner(Endpoints endpoints, Map<String, Object> serdeConfig, Options options,
      PrintStream out, Clock clock) {
    this.endpoints = endpoints;
    this.serdeConfig = Map.copyOf(serdeConfig);
    this.options = options;
    this.out = out;
    this.clock = clock;
  }

  public ReplayReport run() throws IOException, InterruptedException {
    Since since = Since.parse(options.since(), clock);
    List<TrialRule> set = ruleSet();
    String replayId = "replay." + UUID.randomUUID().toString().substring(0, 8);

    Map<String, ExecutionResult> executions = new LinkedHashMap<>();
    long earliest = Long.MAX_VALUE;
    for (ConsumerRecord<String, ExecutionResult> r : read(endpoints.topics().executionResults(),
        ExecutionResult.class, since)) {
      ExecutionResult e = r.value();
      if (e != null && e.getAction() != null && e.getAction().getTrial() == null
          && e.getAction().getType() != ActionType.BLOCK) {
        executions.put(e.getActionId(), e);
        earliest = Math.min(earliest, r.timestamp());
      }
    }
    Map<String, ValidationOutcome> verdicts = new HashMap<>();
    if (!executions.isEmpty()) {
      Since outcomesFrom = new Since(null, Instant.ofEpochMilli(earliest).minusSeconds(60));
      for (ConsumerRecord<String, ValidationOutcome> r : read(
          endpoints.topics().validationOutcomes(), ValidationOutcome.class, outcomesFrom)) {
        ValidationOutcome o = r.value();
        if (o != null && o.getTrial() == null && executions.containsKey(o.getActionId())) {
          verdicts.put(o.getActionId(), o);
        }
      }
    }
    List<ExecutionResult> failed = new ArrayList<>();
    List<ExecutionResult> passed = new ArrayList<>();
    for (ExecutionResult e : executions.values()) {
      ValidationOutcome v = verdicts.get(e.getActionId());
      if (v != null) {
        (v.getSuccess() ? passed : failed).add(e);
      }
    }
    // a sample of the passed ones that does not depend on read order
    List<ExecutionResult> sample = passed.stream()
        .sorted(Comparator.comparing(e -> Integer.toHexString(e.getActionId().hashCode())))
        .limit(options.passedSample()).toList();
    List<ExecutionResult> chosen = new ArrayList<>(failed);
    chosen.addAll(sample);
    out.printf(Locale.ROOT, "replay %s: %d failed and %d passed action(s) since %s; re-running "
        + "%d under rules %s (%d rule(s))%n", replayId, failed.size(), passed.size(),
        options.since(), chosen.size(), options.rules(), set.size());

    Map<String, ExecutionResult> byReplayId = new LinkedHashMap<>();
    int n = 0;
    for (ExecutionResult e : chosen) {
      byReplayId.put(replayId + ":" + TrialArm.REPLAY.name() + ":" + (++n), e);
    }
    Map<TopicPartition, Long> outcomeStart = endOffsets(endpoints.topics().validationOutcomes());
    publish(replayId, set, byReplayId);
    Map<String, ValidationOutcome> replayed = await(replayId, byReplayId.size(), outcomeStart);

    List<ReplayReport.Item> items = new ArrayList<>();
    for (Map.Entry<String, ExecutionResult> e : byReplayId.entrySet()) {
      ValidationOutcome live = verdicts.get(e.getValue().getActionId());
      ValidationOutcome now = replayed.get(e.getKey());
      items.add(new ReplayReport.Item(e.getValue().getTaskId(), e.getValue().getActionId(),
          live.getSuccess(), List.copyOf(live.getAppliedRuleIds()),
          now == null ? null : now.getSuccess(),
          now == null ? List.of() : List.copyOf(now.getAppliedRuleIds()),
          now == null || now.getSuccess() || now.getError() == null ? null
              : now.getErrorCategory() + " " + now.getError().getType()));
    }
    return new ReplayReport(replayId, options.rules(),
        set.stream().map(TrialRule::getRuleId).toList(), items, failed.size(), passed.size());
  }

  private List<TrialRule> ruleSet() throws IOException {
    String choice = options.rules().trim();
    if (choice.equalsIgnoreCase("none")) {
      return List.of();
    }
    if (!choice.equalsIgnoreCase("current")) {
      return ReplayRules.read(Path.of(choice));
    }
    Map<String, ProtocolRule> latest = new LinkedHashMap<>();
    for (ConsumerRecord<String, ProtocolRule> r : read(endpoints.topics().protocolRules(),
        ProtocolRule.class, new Since(0L, null))) {
      if (r.value() == null) {
        latest.remove(r.key());
      } else {
        latest.put(r.key(), r.value());
      }
    }
    return latest.values().stream().filter(r -> r.getStatus() == RuleStatus.ACTIVE)
        .map(r -> TrialRule.newBuilder().setRuleId(r.getRuleId()).setCondition(r.getCondition())
            .setAction(r.getAction()).build()).toList();
  }

  private void publish(String replayId, List<TrialRule> set,
      Map<String, ExecutionResult> byReplayId) throws InterruptedException {
    boolean generate = set.stream()
        .anyMatch(r -> r.getAction().getKind() == RuleActionKind.PROMPT_GUIDELINE);
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "fractal-replay");
    Instant now = clock.instant();
    try (KafkaProducer<String, ActionItem> producer = new KafkaProducer<>(p,
        new StringSerializer(), FractalSerdes.value(ActionItem.class, serdeConfig).serializer())) {
      List<Future<RecordMetadata>> sends = new ArrayList<>();
      for (Map.Entry<String, ExecutionResult> e : byReplayId.entrySet()) {
        ActionItem source = e.getValue().getAction();
        Map<String, String> attributes = new LinkedHashMap<>(source.getAttributes());
        attributes.remove(PlanPolicy.RULES_ATTRIBUTE);
        attributes.remove(Holdout.HOLDOUT_ATTRIBUTE);
        attributes.put("fractal.replay", replayId);
        ActionItem.Builder item = ActionItem.newBuilder(source)
            .setActionId(e.getKey())
            .setAppliedRuleIds(List.of())
            .setAttributes(attributes)
            .setTrial(TrialSpec.newBuilder().setTrialId(replayId).setRuleId(replayId)
                .setRuleVersion(1).setArm(TrialArm.REPLAY)
                .setRuleAction(RuleAction.newBuilder().setKind(RuleActionKind.UNKNOWN).build())
                .setSourceActionId(source.getActionId()).setRuleSet(set).build())
            .setCreatedAt(now);
        String code = e.getValue().getCode();
        if (source.getType() == ActionType.GENERATE_CODE && !generate && code != null
            && !code.isBlank()) {
          item.setInput(ExecutionInput.newBuilder(source.getInput()).setCode(code).build());
        }
        sends.add(producer.send(new ProducerRecord<>(endpoints.topics().actionItems().name(),
            source.getTaskId(), item.build())));
      }
      for (Future<RecordMetadata> f : sends) {
        f.get(30, TimeUnit.SECONDS);
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot publish the replay's actions: " + e.getMessage(), e);
    }
  }

  private Map<String, ValidationOutcome> await(String replayId, int expected,
      Map<TopicPartition, Long> from) {
    Map<String, ValidationOutcome> found = new HashMap<>();
    try (KafkaConsumer<String, ValidationOutcome> consumer = consumer(ValidationOutcome.class)) {
      consumer.assign(from.keySet());
      from.forEach(consumer::seek);
      long deadline = System.nanoTime() + options.timeout().toNanos();
      long lastShown = 0;
      while (found.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, ValidationOutcome> r : consumer.poll(Duration.ofMillis(200))) {
          ValidationOutcome o = r.value();
          if (o != null && o.getTrial() != null && replayId.equals(o.getTrial().getTrialId())) {
            found.put(o.getActionId(), o);
          }
        }
        if (System.nanoTime() - lastShown > 5_000_000_000L) {
          lastShown = System.nanoTime();
          out.printf(Locale.ROOT, "replay %s: %d/%d verdicts%n", replayId, found.size(), expected);
        }
      }
    }
    return found;
  }

  /** Every record of {@code topic} from {@code since} up to its end when the read started. */
  private <T extends SpecificRecord> List<ConsumerRecord<String, T>> read(TopicSpec topic,
      Class<T> type, Since since) {
    List<ConsumerRecord<String, T>> records = new ArrayList<>();
    try (KafkaConsumer<String, T> consumer = consumer(type)) {
      List<TopicPartition> parts = consumer.partitionsFor(topic.name(), Duration.ofSeconds(30))
          .stream().map(i -> new TopicPartition(topic.name(), i.partition())).toList();
      consumer.assign(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      Map<TopicPartition, Long> begin = consumer.beginningOffsets(parts);
      Map<TopicPartition, Long> start = new HashMap<>();
      if (since.offset() != null) {
        parts.forEach(tp -> start.put(tp, Math.max(begin.get(tp), Math.min(since.offset(),
            end.get(tp)))));
      } else {
        Map<TopicPartition, Long> query = new HashMap<>();
        parts.forEach(tp -> query.put(tp, since.time().toEpochMilli()));
        Map<TopicPartition, OffsetAndTimestamp> at = consumer.offsetsForTimes(query);
        parts.forEach(tp -> start.put(tp, at.get(tp) == null ? end.get(tp) : at.get(tp).offset()));
      }
      start.forEach(consumer::seek);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
          && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
    }
    return records;
  }

  private Map<TopicPartition, Long> endOffsets(TopicSpec topic) {
    try (KafkaConsumer<String, ValidationOutcome> consumer = consumer(ValidationOutcome.class)) {
      List<TopicPartition> parts = consumer.partitionsFor(topic.name(), Duration.ofSeconds(30))
          .stream().map(i -> new TopicPartition(topic.name(), i.partition())).toList();
      return new HashMap<>(consumer.endOffsets(parts));
    }
  }

  private <T extends SpecificRecord> KafkaConsumer<String, T> consumer(Class<T> type) {
    Map<String, Object> p = KafkaClientConfigs.assignedReader(endpoints.bootstrapServers(),
        "fractal-replay");
    p.put(org.apache.kafka.clients.consumer.ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    Deserializer<T> values = FractalSerdes.value(type, serdeConfig).deserializer();
    return new KafkaConsumer<>(p, new StringDeserializer(), values);
  }
}
