package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialSummary;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.StreamsSettings;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * How a trial is judged. CONTROL and TREATMENT re-ran the same failed actions of the pattern
 * without and with the rule; GUARD re-ran recently succeeded actions in the rule's scope with it
 * (their live verdict, a success, is the GUARD's baseline: an error rate of 0). The checks, in
 * order — the first that fails decides, with its reason in {@link TrialSummary#getDecision()}:
 * <ol>
 *   <li>{@code SAMPLE_TOO_SMALL}: fewer than {@code minSampleSize} outcomes in CONTROL or
 *       TREATMENT (pairs, for cost-saving kinds), or fewer than {@code minGuardSize} in GUARD;</li>
 *   <li>{@code GUARD_HURT}: any GUARD action failed with the rule — it raised the error rate of
 *       what passes, so it is rejected whatever it does for the failures (for BLOCK_AND_ALERT: it
 *       blocked something the GUARD arm shows to be harmless);</li>
 *   <li>{@code GUARD_TOO_COSTLY}: the GUARD arm's mean cost exceeds
 *       {@code durationRatio × its live mean + durationSlackMs};</li>
 *   <li>the kind's criterion ({@link RuleValue}):
 *     <ul>
 *       <li>fewer failures / better generated code: the one-sided Fisher exact test that
 *           TREATMENT fails less often than CONTROL gives p ≤ α, else {@code NOT_SIGNIFICANT};
 *           and TREATMENT's mean cost is at most {@code ratio × CONTROL's + slack} (ratio
 *           {@code durationRatio}, for INCREASE_TIMEOUT 1 + its factor: its first attempt times
 *           out before the longer re-run), else {@code TOO_COSTLY};</li>
 *       <li>the same verdicts with less cost: every pair (CONTROL n, TREATMENT n: the same
 *           source action) has the same verdict, else {@code VERDICTS_DIFFER}; and the exact
 *           one-sided sign test that TREATMENT costs less than CONTROL (over untied pairs)
 *           gives p ≤ α, else {@code NO_COST_SAVING};</li>
 *     </ul></li>
 * </ol>
 * Otherwise the rule is adopted ({@code ADOPTED}). Cost is the executor's measured duration
 * ({@code execution_duration_ms}). The verdict text states the sample sizes, the failure rates
 * with 95 % Wilson intervals, the test and its p-value against α, and the costs.
 */
public final class TrialPolicy {

  public static final String ADOPTED = "ADOPTED";
  public static final String SAMPLE_TOO_SMALL = "SAMPLE_TOO_SMALL";
  public static final String GUARD_HURT = "GUARD_HURT";
  public static final String GUARD_TOO_COSTLY = "GUARD_TOO_COSTLY";
  public static final String NOT_SIGNIFICANT = "NOT_SIGNIFICANT";
  public static final String TOO_COSTLY = "TOO_COSTLY";
  public static final String VERDICTS_DIFFER = "VERDICTS_DIFFER";
  public static final String NO_COST_SAVING = "NO_COST_SAVING";
  public static final String NO_GENERATED_CODE = "NO_GENERATED_CODE";
  static final String FISHER = "one-sided Fisher exact test (TREATMENT fails less than CONTROL)";
  static final String SIGN = "exact one-sided sign test (TREATMENT costs less than CONTROL, paired)";

  private TrialPolicy() {
  }

  public record Verdict(boolean adopt, TrialSummary summary) {
  }

  /**
   * @param outcomes the trial's validation outcomes (action ids {@code <trial>:<ARM>:<n>})
   * @param guardLiveMeanMs mean cost of the GUARD actions when they succeeded live
   */
  public static Verdict judge(String trialId, RuleAction action,
      Collection<ValidationOutcome> outcomes, double guardLiveMeanMs,
      StreamsSettings.Trial settings, long now, boolean timedOut) {
    Map<Integer, ValidationOutcome> control = arm(outcomes, TrialArm.CONTROL);
    Map<Integer, ValidationOutcome> treatment = arm(outcomes, TrialArm.TREATMENT);
    List<ValidationOutcome> guard = List.copyOf(arm(outcomes, TrialArm.GUARD).values());
    RuleValue value = RuleValue.of(action.getKind());
    int fc = failures(control.values());
    int ft = failures(treatment.values());
    int fg = failures(guard);
    double costC = meanCost(control.values());
    double costT = meanCost(treatment.values());
    double costG = meanCost(guard);
    double alpha = settings.alpha();
    double guardBound = settings.durationRatio() * guardLiveMeanMs + settings.durationSlackMs();

    String decision;
    String why;
    String test = value == RuleValue.LESS_COST ? SIGN : FISHER;
    Double p = null;
    List<Integer> pairs = control.keySet().stream().filter(treatment::containsKey).toList();
    int armSize = value == RuleValue.LESS_COST ? pairs.size()
        : Math.min(control.size(), treatment.size());
    if (armSize < settings.minSampleSize() || guard.size() < settings.minGuardSize()) {
      decision = SAMPLE_TOO_SMALL;
      why = String.format(Locale.ROOT, "sample too small: %d CONTROL, %d TREATMENT%s and %d GUARD "
          + "outcome(s); at least %d per arm and %d GUARD needed", control.size(),
          treatment.size(), value == RuleValue.LESS_COST ? " (" + pairs.size() + " pairs)" : "",
          guard.size(), settings.minSampleSize(), settings.minGuardSize());
    } else if (fg > 0) {
      decision = GUARD_HURT;
      why = String.format(Locale.ROOT, "guard arm hurt: %d of %d recently succeeded action(s) "
          + "failed with the rule%s", fg, guard.size(),
          action.getKind() == RuleActionKind.BLOCK_AND_ALERT
              ? " (it blocks what the guard arm shows to be harmless)" : "");
    } else if (costG > guardBound) {
      decision = GUARD_TOO_COSTLY;
      why = String.format(Locale.ROOT, "too costly on the guard arm: mean %.0f ms with the rule "
          + "exceeds %.1f x %.0f ms (live) + %d ms", costG, settings.durationRatio(),
          guardLiveMeanMs, settings.durationSlackMs());
    } else if (value == RuleValue.LESS_COST) {
      long differ = pairs.stream()
          .filter(i -> control.get(i).getSuccess() != treatment.get(i).getSuccess()).count();
      int cheaper = 0;
      int untied = 0;
      for (int i : pairs) {
        long c = cost(control.get(i));
        long t = cost(treatment.get(i));
        if (c != t) {
          untied++;
          cheaper += t < c ? 1 : 0;
        }
      }
      p = Stats.signTest(cheaper, untied);
      if (differ > 0) {
        decision = VERDICTS_DIFFER;
        why = String.format(Locale.ROOT, "verdicts differ in %d of %d pair(s): a cost-saving rule "
            + "must reach the same verdicts", differ, pairs.size());
      } else if (p > alpha) {
        decision = NO_COST_SAVING;
        why = String.format(Locale.ROOT, "no significant cost saving: cheaper in %d of %d untied "
            + "pair(s), sign test p = %.4f > alpha = %.2f", cheaper, untied, p, alpha);
      } else {
        decision = ADOPTED;
        why = String.format(Locale.ROOT, "adopted (%s): same verdicts in %d pair(s), cheaper in "
            + "%d of %d untied, sign test p = %.4f <= alpha = %.2f", value.words(), pairs.size(),
            cheaper, untied, p, alpha);
      }
    } else {
      p = Stats.fisherLess(fc, control.size(), ft, treatment.size());
      double ratio = action.getKind() == RuleActionKind.INCREASE_TIMEOUT
          ? 1 + RuleParameters.factor(action.getParameters()) : settings.durationRatio();
      double bound = ratio * costC + settings.durationSlackMs();
      if (p > alpha) {
        decision = NOT_SIGNIFICANT;
        why = String.format(Locale.ROOT, "not significant: Fisher p = %.4f > alpha = %.2f", p,
            alpha);
      } else if (costT > bound) {
        decision = TOO_COSTLY;
        why = String.format(Locale.ROOT, "too costly: mean %.0f ms with the rule exceeds %.1f x "
            + "%.0f ms + %d ms", costT, ratio, costC, settings.durationSlackMs());
      } else {
        decision = ADOPTED;
        why = String.format(Locale.ROOT, "adopted (%s): Fisher p = %.4f <= alpha = %.2f, cost "
            + "within %.0f ms", value.words(), p, alpha, bound);
      }
    }
    String verdict = why + "; " + figures(control.size(), fc, treatment.size(), ft, guard.size(),
        fg, costC, costT, costG, guardLiveMeanMs);
    if (timedOut) {
      verdict += " [trial timed out, decided from " + outcomes.size() + " outcome(s)]";
    }
    TrialSummary summary = TrialSummary.newBuilder()
        .setTrialId(trialId)
        .setSampleSize(Math.max(control.size(), treatment.size()))
        .setErrorRateWithout(rate(fc, control.size()))
        .setErrorRateWith(rate(ft, treatment.size()))
        .setMeanDurationMsWithout(costC)
        .setMeanDurationMsWith(costT)
        .setDecidedAt(Instant.ofEpochMilli(now))
        .setVerdict(verdict)
        .setCriterion(value.words())
        .setDecision(decision)
        .setControlSize(control.size())
        .setControlFailures(fc)
        .setTreatmentSize(treatment.size())
        .setTreatmentFailures(ft)
        .setGuardSize(guard.size())
        .setGuardFailures(fg)
        .setMeanDurationMsGuard(costG)
        .setMeanDurationMsGuardLive(guardLiveMeanMs)
        .setTest(test)
        .setPValue(p)
        .setAlpha(alpha)
        .build();
    return new Verdict(ADOPTED.equals(decision), summary);
  }

  /** A summary for a rule rejected without a trial (nothing to re-run, or nothing to show). */
  public static TrialSummary untried(String trialId, RuleAction action, String decision,
      String why, int failed, int guard, StreamsSettings.Trial settings, long now) {
    RuleValue value = RuleValue.of(action.getKind());
    return TrialSummary.newBuilder()
        .setTrialId(trialId).setSampleSize(0).setErrorRateWithout(rate(0, 0))
        .setErrorRateWith(rate(0, 0)).setMeanDurationMsWithout(0).setMeanDurationMsWith(0)
        .setDecidedAt(Instant.ofEpochMilli(now))
        .setVerdict(why + String.format(Locale.ROOT, " (%d failed and %d succeeded action(s) "
            + "known)", failed, guard))
        .setCriterion(value.words()).setDecision(decision)
        .setTest(value == RuleValue.LESS_COST ? SIGN : FISHER).setPValue(null)
        .setAlpha(settings.alpha()).build();
  }

  private static String figures(int nc, int fc, int nt, int ft, int ng, int fg, double costC,
      double costT, double costG, double costGLive) {
    return String.format(Locale.ROOT, "CONTROL %s, TREATMENT %s, GUARD %s; mean cost %.0f -> %.0f "
        + "ms, GUARD %.0f ms (live %.0f ms)", rateText(fc, nc), rateText(ft, nt),
        rateText(fg, ng), costC, costT, costG, costGLive);
  }

  /** "3/5 failed (60 %, 95 % CI 23-88 %)". */
  static String rateText(int k, int n) {
    if (n == 0) {
      return "0 run";
    }
    double[] ci = Stats.wilson(k, n);
    return String.format(Locale.ROOT, "%d/%d failed (%.0f%%, 95%% CI %.0f-%.0f%%)", k, n,
        100.0 * k / n, 100 * ci[0], 100 * ci[1]);
  }

  private static Map<Integer, ValidationOutcome> arm(Collection<ValidationOutcome> outcomes,
      TrialArm arm) {
    Map<Integer, ValidationOutcome> byIndex = new TreeMap<>();
    for (ValidationOutcome o : outcomes) {
      if (o.getTrial() != null && o.getTrial().getArm() == arm) {
        byIndex.put(RuleIds.trialActionIndex(o.getActionId()), o);
      }
    }
    return byIndex;
  }

  private static int failures(Collection<ValidationOutcome> outcomes) {
    return (int) outcomes.stream().filter(o -> !o.getSuccess()).count();
  }

  /** An empty arm counts as failing: no evidence is no success. */
  static double rate(int failures, int size) {
    return size == 0 ? 1.0 : (double) failures / size;
  }

  private static long cost(ValidationOutcome o) {
    return o.getExecutionDurationMs();
  }

  static double meanCost(Collection<ValidationOutcome> outcomes) {
    return outcomes.stream().mapToLong(TrialPolicy::cost).average().orElse(0);
  }
}
