package io.fractalrmo.streams;

import static io.fractalrmo.contracts.testing.Mothers.aTask;
import static io.fractalrmo.contracts.testing.Mothers.anActionItem;
import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialPhase;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.merge.PlanPolicy;
import io.fractalrmo.streams.rules.Holdout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streams role on a real broker and registry: DLQ, plan and status, and the learning loop
 * across a restart whose state directory is wiped, so every decision must come back from the
 * changelogs.
 */
class StreamsRoleTest {

  private static final Logger LOG = LoggerFactory.getLogger(StreamsRoleTest.class);
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start();
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  @Test
  void shouldPlanLearnAndKeepItsDecisionsAcrossARestart(@TempDir Path stateDir) throws IOException {
    Endpoints endpoints = stack.newEndpoints();
    TopicCatalog t = endpoints.topics();
    StreamsOptions options = StreamsOptions.defaults(stateDir);
    try (KafkaIo io = new KafkaIo(endpoints);
        KafkaIo.Reader<ActionItem> actions = io.reader(t.actionItems(), ActionItem.class);
        KafkaIo.Reader<ProtocolRule> rules = io.reader(t.protocolRules(), ProtocolRule.class);
        KafkaIo.Reader<RuleTrial> trials = io.reader(t.ruleTrials(), RuleTrial.class);
        KafkaIo.Reader<TaskStatus> statuses = io.reader(t.taskStatus(), TaskStatus.class);
        KafkaIo.Reader<RuleTrial> dlq = io.reader(t.dlq(), null)) {
      StreamsRole role = StreamsRole.start(endpoints, options);

      // a poison record goes to the DLQ with its headers, and processing goes on
      io.sendRaw(t.tasks(), "bad", "not avro".getBytes(StandardCharsets.UTF_8));
      ConsumerRecord<String, byte[]> dead = dlq.until(l -> !l.isEmpty(), WAIT).get(0);
      assertThat(dead.key()).isEqualTo("bad");
      assertThat(new String(dead.value(), StandardCharsets.UTF_8)).isEqualTo("not avro");
      assertThat(new String(dead.headers().lastHeader(DlqHeaders.TOPIC).value(),
          StandardCharsets.UTF_8)).isEqualTo(t.tasks().name());

      // a task and its five analyses: one plan, status PLANNED
      Instant now = Instant.now();
      io.send(t.tasks(), "task-ok", aTask().setTaskId("task-ok").setSubmittedAt(now).build());
      for (Aspect a : PlanPolicy.ASPECTS) {
        io.send(t.analyses(), "task-ok", AspectAnalysis.newBuilder().setTaskId("task-ok")
            .setAnalyzerId("a").setAspect(a).setConfidence(1).setDurationMs(1)
            .setAnalyzedAt(now).build());
      }
      actions.until(l -> l.stream().anyMatch(r -> "task-ok".equals(r.key())), WAIT);
      statuses.until(l -> l.stream().map(statuses::value)
          .anyMatch(s -> s.getState() == TaskState.PLANNED), WAIT);

      // five passing actions (the guard arm's pool), then a burst of five alike failures:
      // pattern, candidate, trial through Kafka
      for (int i = 1; i <= 5; i++) {
        String task = "ok-" + i;
        io.send(t.actionItems(), task, anActionItem().setTaskId(task)
            .setActionId(task + ":plan:1").setCreatedAt(Instant.now()).build());
        io.send(t.validationOutcomes(), task, ValidationOutcome.newBuilder().setTaskId(task)
            .setActionId(task + ":plan:1").setValidatorId("v").setSuccess(true)
            .setLevelRequested(3).setLevelReached(3).setDurationMs(5).setExecutionDurationMs(12)
            .setValidatedAt(Instant.now()).build());
      }
      for (int i = 1; i <= 5; i++) {
        io.send(t.actionItems(), "task-" + i, anActionItem().setTaskId("task-" + i)
            .setActionId("task-" + i + ":plan:1").setCreatedAt(Instant.now()).build());
      }
      for (int i = 1; i <= 5; i++) {
        io.send(t.errors(), "task-" + i, anErrorEvent().setErrorId("err-" + i)
            .setTaskId("task-" + i).setActionId("task-" + i + ":plan:1")
            .setOccurredAt(Instant.now()).build());
      }
      long errorSent = System.nanoTime();
      rules.until(l -> !l.isEmpty(), WAIT);
      long candidateSeen = System.nanoTime();
      assertThat(rules.values().get(0).getStatus()).isEqualTo(RuleStatus.CANDIDATE);
      List<ActionItem> trialItems = trialItems(actions, 15);
      trials.until(l -> !l.isEmpty(), WAIT);
      long trialStartedSeen = System.nanoTime();

      // restart on an empty state directory: the stores come back from their changelogs
      role.close();
      deleteRecursively(stateDir);
      role = StreamsRole.start(endpoints, options);

      long outcomesSent = System.nanoTime();
      for (ActionItem a : trialItems) {
        boolean ok = a.getTrial().getArm() != TrialArm.CONTROL;
        io.send(t.validationOutcomes(), a.getTaskId(), ValidationOutcome.newBuilder()
            .setTaskId(a.getTaskId()).setActionId(a.getActionId()).setValidatorId("v")
            .setSuccess(ok).setLevelRequested(3).setLevelReached(ok ? 3 : 2)
            .setDurationMs(5).setExecutionDurationMs(ok ? 60 : 30).setTrial(a.getTrial())
            .setValidatedAt(Instant.now()).build());
      }
      long lastOutcomeSent = System.nanoTime();
      rules.until(l -> l.size() >= 2, WAIT);
      long activeSeen = System.nanoTime();
      trials.until(l -> l.size() >= 2, WAIT);

      // nothing repeated: one candidate, one decision, one trial of fifteen actions
      rules.drain(Duration.ofSeconds(2));
      assertThat(rules.values()).extracting(ProtocolRule::getStatus, ProtocolRule::getVersion)
          .containsExactly(org.assertj.core.groups.Tuple.tuple(RuleStatus.CANDIDATE, 1),
              org.assertj.core.groups.Tuple.tuple(RuleStatus.ACTIVE, 2));
      assertThat(trials.values()).extracting(RuleTrial::getPhase)
          .containsExactly(TrialPhase.STARTED, TrialPhase.COMPLETED);
      assertThat(trialItems(actions, 15)).hasSize(15);
      role.close();

      LOG.info("figures: error burst -> CANDIDATE visible {} ms; trial started visible {} ms after "
          + "the candidate; last trial outcome -> ACTIVE visible {} ms (outcomes sent over {} ms)",
          (candidateSeen - errorSent) / 1_000_000, (trialStartedSeen - candidateSeen) / 1_000_000,
          (activeSeen - lastOutcomeSent) / 1_000_000, (lastOutcomeSent - outcomesSent) / 1_000_000);
    }
  }

  @Test
  void shouldRetireAnActiveRuleWhoseBenefitDisappearsOnTheLiveHoldout(@TempDir Path stateDir) {
    Endpoints endpoints = stack.newEndpoints();
    TopicCatalog t = endpoints.topics();
    StreamsSettings demo = StreamsSettings.demo();
    StreamsSettings.Rules r = demo.rules();
    // half the tasks held out; a window of 4 held-out outcomes decides
    StreamsSettings settings = demo.withRules(new StreamsSettings.Rules(r.confidenceBar(),
        r.trial(), new StreamsSettings.Live(0.5, 3, 4, 3, 0.05, Duration.ofSeconds(1)),
        r.retireAfter(), r.punctuateInterval(), r.failedActionsKept(), r.actionRetention()));
    Holdout holdout = new Holdout(0.5);
    try (KafkaIo io = new KafkaIo(endpoints);
        KafkaIo.Reader<ActionItem> actions = io.reader(t.actionItems(), ActionItem.class);
        KafkaIo.Reader<ProtocolRule> rules = io.reader(t.protocolRules(), ProtocolRule.class);
        StreamsRole role = StreamsRole.start(endpoints,
            StreamsOptions.defaults(stateDir).withSettings(settings))) {
      // a rule is learnt and adopted: five failures, five successes for its guard arm
      for (int i = 1; i <= 5; i++) {
        String task = "ok-" + i;
        io.send(t.actionItems(), task, anActionItem().setTaskId(task)
            .setActionId(task + ":plan:1").setCreatedAt(Instant.now()).build());
        io.send(t.validationOutcomes(), task, outcome(task, task + ":plan:1", true).build());
      }
      for (int i = 1; i <= 5; i++) {
        io.send(t.actionItems(), "task-" + i, anActionItem().setTaskId("task-" + i)
            .setActionId("task-" + i + ":plan:1").setCreatedAt(Instant.now()).build());
        io.send(t.errors(), "task-" + i, anErrorEvent().setErrorId("err-" + i)
            .setTaskId("task-" + i).setActionId("task-" + i + ":plan:1")
            .setOccurredAt(Instant.now()).build());
      }
      for (ActionItem a : trialItems(actions, 15)) {
        io.send(t.validationOutcomes(), a.getTaskId(), outcome(a.getTaskId(), a.getActionId(),
            a.getTrial().getArm() != TrialArm.CONTROL).setTrial(a.getTrial()).build());
      }
      rules.until(l -> rules.values().stream().anyMatch(x -> x != null
          && x.getStatus() == RuleStatus.ACTIVE), WAIT);

      // live traffic through the plan merge: the holdout plans half of it without rules, and
      // none of it fails with the rule's pattern any more
      List<String> held = IntStream.range(0, 200).mapToObj(i -> "live-" + i)
          .filter(holdout::heldOut).limit(4).toList();
      List<String> kept = IntStream.range(0, 200).mapToObj(i -> "live-" + i)
          .filter(id -> !holdout.heldOut(id)).limit(2).toList();
      List<String> live = new java.util.ArrayList<>(held);
      live.addAll(kept);
      for (String id : live) {
        io.send(t.tasks(), id, aTask().setTaskId(id).setSubmittedAt(Instant.now()).build());
        for (Aspect a : PlanPolicy.ASPECTS) {
          io.send(t.analyses(), id, AspectAnalysis.newBuilder().setTaskId(id)
              .setAnalyzerId("a").setAspect(a).setConfidence(1).setDurationMs(1)
              .setAnalyzedAt(Instant.now()).build());
        }
      }
      actions.until(l -> live.stream().allMatch(id -> actions.values().stream()
          .anyMatch(a -> a != null && a.getTrial() == null && a.getTaskId().equals(id))), WAIT);
      List<ActionItem> plans = actions.values().stream().filter(a -> a != null
          && a.getTrial() == null && live.contains(a.getTaskId())).toList();
      for (ActionItem plan : plans) {
        assertThat(plan.getAttributes().get(PlanPolicy.RULES_ATTRIBUTE))
            .isEqualTo(held.contains(plan.getTaskId()) ? "off" : null);
      }
      // the treated outcomes first, until the rule's published counters show them
      for (ActionItem plan : plans) {
        if (kept.contains(plan.getTaskId())) {
          io.send(t.validationOutcomes(), plan.getTaskId(),
              outcome(plan.getTaskId(), plan.getActionId(), true).build());
        }
      }
      rules.until(l -> rules.values().stream().anyMatch(x -> x != null
          && x.getStatus() == RuleStatus.ACTIVE && x.getLive() != null
          && x.getLive().getTreatedActions() == 2), WAIT);
      for (ActionItem plan : plans) {
        if (held.contains(plan.getTaskId())) {
          io.send(t.validationOutcomes(), plan.getTaskId(),
              outcome(plan.getTaskId(), plan.getActionId(), true).build());
        }
      }

      rules.until(l -> l.stream().anyMatch(x -> x.value() == null), WAIT);
      ProtocolRule retired = rules.values().stream()
          .filter(x -> x != null && x.getStatus() == RuleStatus.RETIRED).findFirst().orElseThrow();
      assertThat(retired.getStatusReason()).startsWith("live benefit disappeared");
      assertThat(retired.getLive().getHoldoutActions()).isEqualTo(4);
      assertThat(retired.getLive().getHoldoutFailures()).isZero();
      assertThat(retired.getLive().getTreatedActions()).isEqualTo(2);
      LOG.info("live holdout retirement: {}", retired.getStatusReason());
    }
  }

  private static ValidationOutcome.Builder outcome(String task, String actionId, boolean ok) {
    return ValidationOutcome.newBuilder().setTaskId(task).setActionId(actionId)
        .setValidatorId("v").setSuccess(ok).setLevelRequested(3).setLevelReached(ok ? 3 : 2)
        .setDurationMs(5).setExecutionDurationMs(ok ? 60 : 30).setValidatedAt(Instant.now());
  }

  /**
   * A release that adds a state store, started on the directory and static group membership of
   * the previous one after it crashed (it left the group as a static member does: not at all):
   * the rejoin must rebalance so that the new store's changelog is created and the app runs,
   * instead of reusing the old assignment and waiting forever.
   */
  @Test
  void shouldRunATopologyWithANewStoreOnTheStateAndStaticMembershipOfTheOldOne(
      @TempDir Path stateDir) throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    TopicCatalog t = endpoints.topics();
    String appId = t.prefix() + "upgrade-" + java.util.UUID.randomUUID();
    StreamsOptions defaults = StreamsOptions.defaults(stateDir).withApplicationId(appId)
        .withExtraProperties(java.util.Map.of(
            org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_INSTANCE_ID_CONFIG,
            "upgrade-static-1",
            org.apache.kafka.clients.consumer.ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 60_000));
    StreamsOptions options = new StreamsOptions(defaults.applicationId(), stateDir, 1,
        defaults.commitInterval(), defaults.maxThreadReplacements(),
        defaults.replicationFactor(), Duration.ofSeconds(45), defaults.closeTimeout(),
        defaults.settings(), defaults.extraProperties());
    try (KafkaIo io = new KafkaIo(endpoints);
        KafkaIo.Reader<ProtocolRule> counted = io.reader(t.alerts(), null);
        KafkaIo.Reader<ProtocolRule> lengths = io.reader(t.agentStatus(), null)) {
      StreamsRole old = StreamsRole.start(endpoints, options, countingTopology(t, false));
      io.sendRaw(t.tasks(), "k", "one".getBytes(StandardCharsets.UTF_8));
      counted.until(l -> !l.isEmpty(), WAIT);
      // a crash: the static member stays in the group (no leave), the tasks stay assigned to it
      old.kafkaStreams().close(org.apache.kafka.streams.CloseOptions.timeout(WAIT)
          .withGroupMembershipOperation(
              org.apache.kafka.streams.CloseOptions.GroupMembershipOperation.REMAIN_IN_GROUP));
      old.close();

      StreamsRole upgraded = StreamsRole.start(endpoints, options, countingTopology(t, true));
      try {
        assertThat(upgraded.state()).isEqualTo(org.apache.kafka.streams.KafkaStreams.State.RUNNING);
        io.sendRaw(t.tasks(), "k", "three".getBytes(StandardCharsets.UTF_8));
        // the new store counts what arrives after the upgrade; the old one kept its count
        lengths.until(l -> !l.isEmpty(), WAIT);
        counted.until(l -> l.stream().anyMatch(r -> longOf(r.value()) == 2L), WAIT);
      } finally {
        upgraded.close();
      }
      // and the next start with the same topology keeps the fast static rejoin
      assertThat(TopologyChange.of(stateDir.resolve(appId), countingTopology(t, true)).changed())
          .isFalse();
    }
  }

  /** Counts records per key (store "counts"); with {@code newStore}, also their lengths' sum. */
  private static org.apache.kafka.streams.Topology countingTopology(TopicCatalog t,
      boolean newStore) {
    var builder = new org.apache.kafka.streams.StreamsBuilder();
    var serde = org.apache.kafka.common.serialization.Serdes.String();
    var source = builder.stream(t.tasks().name(),
        org.apache.kafka.streams.kstream.Consumed.with(serde, serde).withName("in"));
    source.groupByKey(org.apache.kafka.streams.kstream.Grouped.with("by-key", serde, serde))
        .count(org.apache.kafka.streams.kstream.Named.as("count"),
            org.apache.kafka.streams.kstream.Materialized.as("counts"))
        .toStream(org.apache.kafka.streams.kstream.Named.as("counts-out"))
        .to(t.alerts().name(), org.apache.kafka.streams.kstream.Produced.with(serde,
            org.apache.kafka.common.serialization.Serdes.Long()).withName("to-alerts"));
    if (newStore) {
      source.groupByKey(org.apache.kafka.streams.kstream.Grouped.with("by-key-2", serde, serde))
          .aggregate(() -> 0L, (k, v, sum) -> sum + v.length(),
              org.apache.kafka.streams.kstream.Named.as("length"),
              org.apache.kafka.streams.kstream.Materialized.<String, Long,
                  org.apache.kafka.streams.state.KeyValueStore<org.apache.kafka.common.utils.Bytes,
                      byte[]>>as("lengths")
                  .withValueSerde(org.apache.kafka.common.serialization.Serdes.Long()))
          .toStream(org.apache.kafka.streams.kstream.Named.as("lengths-out"))
          .to(t.agentStatus().name(), org.apache.kafka.streams.kstream.Produced.with(serde,
              org.apache.kafka.common.serialization.Serdes.Long()).withName("to-status"));
    }
    return builder.build();
  }

  private static long longOf(byte[] bytes) {
    return java.nio.ByteBuffer.wrap(bytes).getLong();
  }

  private static List<ActionItem> trialItems(KafkaIo.Reader<ActionItem> actions, int n) {
    actions.until(l -> l.stream().map(actions::value).filter(Objects::nonNull)
        .filter(a -> a.getTrial() != null).count() >= n, WAIT);
    return actions.values().stream().filter(a -> a != null && a.getTrial() != null).toList();
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        if (!p.equals(dir)) {
          Files.delete(p);
        }
      }
    }
  }
}
