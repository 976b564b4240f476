package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialSummary;
import io.fractalrmo.contracts.ValidationOutcome;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * How a trial is judged. The same failed actions ran without the rule (CONTROL) and with it
 * (TREATMENT). The rule is adopted (ACTIVE) when
 * <ul>
 *   <li>both arms have at least one outcome,</li>
 *   <li>the error rate with the rule is strictly lower than without, and</li>
 *   <li>the mean duration with the rule is at most {@code ratio × without + slack}: ratio is
 *       {@code durationRatio} (1.5 by default), except for INCREASE_TIMEOUT whose first attempt
 *       times out before the longer re-run, so its ratio is {@code 1 + factor}; the slack
 *       (500 ms by default) is there because a run that fails fast (a NameError at the first
 *       line) is not comparable in cost with one that runs the tests to the end.</li>
 * </ul>
 * Otherwise the rule is REJECTED.
 */
public final class TrialPolicy {

  private TrialPolicy() {
  }

  public record Verdict(boolean adopt, TrialSummary summary) {
  }

  public static Verdict judge(String trialId, RuleAction action, Collection<ValidationOutcome> outcomes,
      double durationRatio, long slackMs, long now, boolean timedOut) {
    List<ValidationOutcome> without = outcomes.stream()
        .filter(o -> o.getTrial() != null && o.getTrial().getArm() == TrialArm.CONTROL).toList();
    List<ValidationOutcome> with = outcomes.stream()
        .filter(o -> o.getTrial() != null && o.getTrial().getArm() == TrialArm.TREATMENT).toList();
    double errWithout = errorRate(without);
    double errWith = errorRate(with);
    double durWithout = meanDuration(without);
    double durWith = meanDuration(with);
    double ratio = action.getKind() == RuleActionKind.INCREASE_TIMEOUT
        ? 1 + RuleParameters.factor(action.getParameters()) : durationRatio;
    double bound = ratio * durWithout + slackMs;
    String verdict;
    boolean adopt = false;
    if (without.isEmpty() || with.isEmpty()) {
      verdict = "no evidence: " + without.size() + " run(s) without and " + with.size()
          + " with the rule" + (timedOut ? " before the trial timed out" : "");
    } else if (errWith >= errWithout) {
      verdict = String.format(Locale.ROOT,
          "does not help: error rate %.2f with the rule vs %.2f without", errWith, errWithout);
    } else if (durWith > bound) {
      verdict = String.format(Locale.ROOT, "too costly: mean %.0f ms with the rule exceeds "
          + "%.1f x %.0f ms + %d ms", durWith, ratio, durWithout, slackMs);
    } else {
      adopt = true;
      verdict = String.format(Locale.ROOT, "adopted: error rate %.2f -> %.2f, mean duration "
          + "%.0f -> %.0f ms (bound %.0f ms)", errWithout, errWith, durWithout, durWith, bound);
    }
    if (timedOut) {
      verdict += " [trial timed out, decided from " + outcomes.size() + " outcome(s)]";
    }
    TrialSummary summary = TrialSummary.newBuilder()
        .setTrialId(trialId)
        .setSampleSize(Math.max(without.size(), with.size()))
        .setErrorRateWithout(errWithout)
        .setErrorRateWith(errWith)
        .setMeanDurationMsWithout(durWithout)
        .setMeanDurationMsWith(durWith)
        .setDecidedAt(Instant.ofEpochMilli(now))
        .setVerdict(verdict)
        .build();
    return new Verdict(adopt, summary);
  }

  static double errorRate(List<ValidationOutcome> outcomes) {
    if (outcomes.isEmpty()) {
      return 1.0;
    }
    return outcomes.stream().filter(o -> !o.getSuccess()).count() / (double) outcomes.size();
  }

  static double meanDuration(List<ValidationOutcome> outcomes) {
    return outcomes.stream()
        .mapToLong(o -> o.getExecutionDurationMs() > 0 ? o.getExecutionDurationMs() : o.getDurationMs())
        .average().orElse(0);
  }
}
