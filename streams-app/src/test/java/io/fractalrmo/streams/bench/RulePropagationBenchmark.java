package io.fractalrmo.streams.bench;

import static io.fractalrmo.contracts.testing.Mothers.anActionItem;
import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.KafkaIo;
import io.fractalrmo.streams.StreamsOptions;
import io.fractalrmo.streams.StreamsRole;
import io.fractalrmo.streams.patterns.PatternKey;
import io.fractalrmo.streams.rules.RuleIds;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rule propagation on a real broker, not a unit test: for each of n distinct patterns, three
 * failures are produced; timed are (a) the third failure → the CANDIDATE visible to a
 * read_committed consumer (the pattern's threshold-crossing event is the third failure), and
 * (b) the last trial outcome → the ACTIVE rule visible. (a) + (b) is the propagation time with
 * the trial (the executors' work, simulated here by instant outcomes) excluded; the trial
 * round trip (CANDIDATE → fifteen trial items visible, once two more failures complete the
 * sample of five) is reported apart.
 */
public final class RulePropagationBenchmark {

  private static final Logger LOG = LoggerFactory.getLogger(RulePropagationBenchmark.class);
  private static final Duration WAIT = Duration.ofSeconds(60);

  private RulePropagationBenchmark() {
  }

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int warmUp = 2;  // first rules also pay for schema registration and first fetches
    List<Long> toCandidate = new ArrayList<>();
    List<Long> toTrial = new ArrayList<>();
    List<Long> toActive = new ArrayList<>();
    List<Long> total = new ArrayList<>();
    try (TestStack stack = TestStack.start()) {
      Endpoints endpoints = stack.newEndpoints();
      TopicCatalog t = endpoints.topics();
      try (StreamsRole role = StreamsRole.start(endpoints,
              StreamsOptions.defaults(Files.createTempDirectory("rule-bench")));
          KafkaIo io = new KafkaIo(endpoints);
          KafkaIo.Reader<ProtocolRule> rules = io.reader(t.protocolRules(), ProtocolRule.class);
          KafkaIo.Reader<ActionItem> actions = io.reader(t.actionItems(), ActionItem.class)) {
        // the guard arm's pool: five passing actions, shared by every rule's trial
        for (int i = 1; i <= 5; i++) {
          String task = "ok-" + i;
          io.send(t.actionItems(), task, anActionItem().setTaskId(task)
              .setActionId(task + ":plan:1").setCreatedAt(Instant.now()).build());
          io.send(t.validationOutcomes(), task, ValidationOutcome.newBuilder().setTaskId(task)
              .setActionId(task + ":plan:1").setValidatorId("v").setSuccess(true)
              .setLevelRequested(3).setLevelReached(3).setDurationMs(5).setExecutionDurationMs(20)
              .setValidatedAt(Instant.now()).build());
        }
        for (int r = 0; r < n + warmUp; r++) {
          String fixKey = "mod" + r;
          String ruleId = RuleIds.ruleId(PatternKey.of("DEPENDENCY", "NameError", fixKey),
              RuleActionKind.ADD_MISSING_IMPORTS);
          for (int i = 1; i <= 3; i++) {
            String task = "task-" + r + "-" + i;
            io.send(t.actionItems(), task, anActionItem().setTaskId(task)
                .setActionId(task + ":plan:1").setCreatedAt(Instant.now()).build());
          }
          long errorSent = 0;
          for (int i = 1; i <= 3; i++) {
            String task = "task-" + r + "-" + i;
            io.send(t.errors(), task, anErrorEvent().setErrorId("e-" + task).setTaskId(task)
                .setActionId(task + ":plan:1").setFixKey(fixKey).setOccurredAt(Instant.now())
                .build());
            errorSent = System.nanoTime();
          }
          rules.until(l -> l.stream().anyMatch(c -> c.key().equals(ruleId)), WAIT);
          long candidate = System.nanoTime();
          // two more failures complete the trial's sample of five
          for (int i = 4; i <= 5; i++) {
            String task = "task-" + r + "-" + i;
            io.send(t.actionItems(), task, anActionItem().setTaskId(task)
                .setActionId(task + ":plan:1").setCreatedAt(Instant.now()).build());
            io.send(t.errors(), task, anErrorEvent().setErrorId("e-" + task).setTaskId(task)
                .setActionId(task + ":plan:1").setFixKey(fixKey).setOccurredAt(Instant.now())
                .build());
          }
          actions.until(l -> trialItems(actions, ruleId).size() >= 15, WAIT);
          long trial = System.nanoTime();
          long lastOutcome = 0;
          for (ActionItem a : trialItems(actions, ruleId)) {
            boolean treatment = a.getTrial().getArm() != TrialArm.CONTROL;
            io.send(t.validationOutcomes(), a.getTaskId(), ValidationOutcome.newBuilder()
                .setTaskId(a.getTaskId()).setActionId(a.getActionId()).setValidatorId("v")
                .setSuccess(treatment).setLevelRequested(3).setLevelReached(3).setDurationMs(5)
                .setExecutionDurationMs(30).setTrial(a.getTrial()).setValidatedAt(Instant.now())
                .build());
            lastOutcome = System.nanoTime();
          }
          rules.until(l -> l.stream().filter(c -> c.key().equals(ruleId)).map(rules::value)
              .filter(Objects::nonNull).anyMatch(p -> p.getStatus() == RuleStatus.ACTIVE), WAIT);
          long active = System.nanoTime();
          if (r < warmUp) {
            continue;
          }
          toCandidate.add((candidate - errorSent) / 1_000_000);
          toTrial.add((trial - candidate) / 1_000_000);
          toActive.add((active - lastOutcome) / 1_000_000);
          total.add((candidate - errorSent + active - lastOutcome) / 1_000_000);
        }
      }
    }
    LOG.info("rule propagation over {} rules (ms): failure->CANDIDATE {}; CANDIDATE->trial items "
        + "{}; last outcome->ACTIVE {}; propagation without the trial {}", n,
        summary(toCandidate), summary(toTrial), summary(toActive), summary(total));
  }

  private static List<ActionItem> trialItems(KafkaIo.Reader<ActionItem> actions, String ruleId) {
    return actions.values().stream().filter(a -> a != null && a.getTrial() != null
        && a.getTrial().getRuleId().equals(ruleId)).toList();
  }

  private static String summary(List<Long> ms) {
    List<Long> s = ms.stream().sorted().toList();
    return "p50=" + s.get((s.size() - 1) / 2) + " p99=" + s.get((int) Math.ceil(0.99 * s.size()) - 1)
        + " max=" + s.get(s.size() - 1);
  }
}
