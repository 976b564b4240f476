package io.fractalrmo.app.demo;

import java.util.Map;

/**
 * The demo's view of a protocol rule: its latest record plus when the demo first saw it and when
 * it first saw it ACTIVE.
 */
public record RuleView(String ruleId, int version, String status, String statusReason,
    String action, Map<String, String> parameters, double confidence, String patternKey,
    String category, String errorType, Trial trial, long firstSeenMs, long activatedAtMs) {

  /** The trial figures of the rule's record, if it has been tried. */
  public record Trial(int sampleSize, double errorRateWithout, double errorRateWith,
      double meanDurationMsWithout, double meanDurationMsWith, String verdict) {

    public boolean showsBenefit() {
      return sampleSize > 0 && errorRateWith < errorRateWithout;
    }
  }

  public boolean active() {
    return "ACTIVE".equals(status);
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
}
