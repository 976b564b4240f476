package io.fractalrmo.app.demo;

import io.fractalrmo.contracts.LiveEvidence;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.TrialSummary;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The demo's view of a protocol rule: its latest record (trial figures, live counters and
 * holdout evidence included) plus when the demo first saw it and when it first saw it ACTIVE.
 *
 * @param firstFailureAtMs the earliest failure of its pattern the protocol updater knew, or -1
 */
public record RuleView(String ruleId, int version, String status, String statusReason,
    String action, Map<String, String> parameters, double confidence, String patternKey,
    String category, String errorType, Trial trial, Counters counters, Live live,
    long firstFailureAtMs, long firstSeenMs, long activatedAtMs) {

  /** Kinds whose value is the same verdict for less cost, not fewer failures. */
  static final Set<String> COST_SAVING = Set.of("PRE_VALIDATE_SYNTAX", "BLOCK_AND_ALERT");

  /** The trial figures of the rule's record, if it has been tried (or rejected untried). */
  public record Trial(int controlSize, int controlFailures, int treatmentSize,
      int treatmentFailures, int guardSize, int guardFailures, double meanDurationMsWithout,
      double meanDurationMsWith, double meanDurationMsGuard, Double pValue, Double alpha,
      String test, String criterion, String decision, String verdict, long decidedAtMs) {

    public int sampleSize() {
      return Math.max(controlSize, treatmentSize);
    }

    public double errorRateWithout() {
      return controlSize == 0 ? Double.NaN : (double) controlFailures / controlSize;
    }

    public double errorRateWith() {
      return treatmentSize == 0 ? Double.NaN : (double) treatmentFailures / treatmentSize;
    }

    public boolean adopted() {
      return "ADOPTED".equals(decision);
    }

    static Trial of(TrialSummary t) {
      return new Trial(t.getControlSize(), t.getControlFailures(), t.getTreatmentSize(),
          t.getTreatmentFailures(), t.getGuardSize(), t.getGuardFailures(),
          t.getMeanDurationMsWithout(), t.getMeanDurationMsWith(), t.getMeanDurationMsGuard(),
          t.getPValue(), t.getAlpha(), t.getTest(), t.getCriterion(), t.getDecision(),
          t.getVerdict(), t.getDecidedAt().toEpochMilli());
    }
  }

  /** ExpeL-style counters over the live actions it was applied to. */
  public record Counters(long applied, long helped, long hurt) {
    static final Counters NONE = new Counters(0, 0, 0);
  }

  /** The live holdout comparison: targets of the rule held out (rules off) vs with rules. */
  public record Live(int holdoutActions, int holdoutFailures, int treatedActions,
      int treatedFailures, double benefit, Double pValue, String verdict) {

    static Live of(LiveEvidence e) {
      return e == null ? null : new Live(e.getHoldoutActions(), e.getHoldoutFailures(),
          e.getTreatedActions(), e.getTreatedFailures(), e.getBenefit(), e.getPValue(),
          e.getVerdict());
    }
  }

  public boolean active() {
    return "ACTIVE".equals(status);
  }

  /** ACTIVE now, or ACTIVE earlier in the run (since retired). */
  public boolean adopted() {
    return active() || activatedAtMs > 0;
  }

  public boolean costSaving() {
    return COST_SAVING.contains(action);
  }

  /** Milliseconds from the first failure of its pattern to its adoption, or -1. */
  public long timeToActiveMs() {
    if (firstFailureAtMs <= 0 || trial == null || !trial.adopted()) {
      return -1;
    }
    return Math.max(0, trial.decidedAtMs() - firstFailureAtMs);
  }

  /** The fault a rule of this category is meant to fix, if any. */
  public Fault targetFault() {
    return switch (category == null ? "" : category) {
      case "DEPENDENCY" -> Fault.MISSING_IMPORT;
      case "PERFORMANCE" -> Fault.SLOW;
      case "SYNTAX" -> Fault.SYNTAX_SLIP;
      case "LOGIC" -> Fault.WRONG_RESULT;
      case "SECURITY" -> Fault.FORBIDDEN_CALL;
      default -> null;
    };
  }

  static RuleView of(ProtocolRule rule, long firstSeen, long activatedAt) {
    TrialSummary t = rule.getTrial();
    return new RuleView(rule.getRuleId(), rule.getVersion(), rule.getStatus().name(),
        rule.getStatusReason(), rule.getAction().getKind().name(),
        new HashMap<>(rule.getAction().getParameters()), rule.getConfidence(),
        rule.getEvidence().getPatternKey(), rule.getCondition().getCategory().name(),
        rule.getCondition().getErrorType(), t == null ? null : Trial.of(t),
        new Counters(rule.getTimesApplied(), rule.getTimesHelped(), rule.getTimesHurt()),
        Live.of(rule.getLive()),
        rule.getFirstFailureAt() == null ? -1 : rule.getFirstFailureAt().toEpochMilli(),
        firstSeen, activatedAt);
  }

  RuleView withStatus(String newStatus) {
    return new RuleView(ruleId, version, newStatus, statusReason, action, parameters,
        confidence, patternKey, category, errorType, trial, counters, live, firstFailureAtMs,
        firstSeenMs, activatedAtMs);
  }
}
