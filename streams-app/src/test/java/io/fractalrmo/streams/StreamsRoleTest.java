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
