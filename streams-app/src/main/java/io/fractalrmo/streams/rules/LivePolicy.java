package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.LiveEvidence;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleSample;
import io.fractalrmo.streams.StreamsSettings;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * How an ACTIVE rule is watched after adoption. Every live outcome in the rule's scope (not a
 * trial, not a BLOCK) counts in one of two arms: <i>held out</i> (it ran without rules: the
 * live holdout, or an upstream's {@code fractal.rules=off}, such as the demo's rules-off arm) or
 * <i>treated</i> (it ran with the rules). An outcome is a <i>target</i> of the rule when:
 * <ul>
 *   <li>ADD_MISSING_IMPORTS, INCREASE_TIMEOUT, PROMPT_GUIDELINE: it failed with the rule's
 *       pattern;</li>
 *   <li>PRE_VALIDATE_SYNTAX: it failed with a SYNTAX error;</li>
 *   <li>BLOCK_AND_ALERT: it carries a finding the rule blocks.</li>
 * </ul>
 * Counters (ExpeL-style, on the rule record), over treated outcomes the rule was applied to
 * (its id in {@code applied_rule_ids}):
 * <ul>
 *   <li>fewer-failures kinds and PROMPT_GUIDELINE: helped = it then succeeded; hurt = it then
 *       failed with an error other than its pattern (an upper bound: the code may have had a
 *       second fault of its own);</li>
 *   <li>PRE_VALIDATE_SYNTAX: helped = it stopped a SYNTAX failure before the sandbox; it never
 *       counts hurt (the validator reaches the same verdict);</li>
 *   <li>BLOCK_AND_ALERT: helped = it blocked; hurt = a held-out action carrying a finding it
 *       blocks succeeded (the holdout shows that such code can be harmless).</li>
 * </ul>
 * The rule is RETIRED, with its evidence, when
 * <ol>
 *   <li>its live benefit turned negative: with at least {@code minHoldout} outcomes in each arm,
 *       the one-sided Fisher exact test finds the treated arm failing more often than the held-out
 *       one — on the rule's pattern for the fewer-failures kinds, at all for the cost-saving ones
 *       (which must keep verdicts) — with p ≤ α;</li>
 *   <li>it hurt at least {@code minHurt} actions and more than it helped;</li>
 *   <li>its live benefit disappeared: over a full window of held-out outcomes, the fewer-failures
 *       kinds show no significant reduction of their pattern (Fisher p &gt; α), the cost-saving
 *       kinds no target at all (nothing left to save).</li>
 * </ol>
 */
public final class LivePolicy {

  private LivePolicy() {
  }

  /** {@code w} after one live outcome; unchanged when it is not in the rule's scope. */
  public static LiveWatch observe(LiveWatch w, ProtocolRule rule, RuleSample s, int window) {
    if (s.getOccurredAt().toEpochMilli() < w.activatedAt()
        || !RuleScope.inScope(rule.getCondition(), s.getActionType())) {
      return w;
    }
    RuleActionKind kind = rule.getAction().getKind();
    boolean target = target(rule, s);
    boolean failed = !s.getSuccess();
    if (s.getRulesOff()) {
      long harmless = kind == RuleActionKind.BLOCK_AND_ALERT && target && !failed ? 1 : 0;
      return w.observed(true, new LiveWatch.Obs(target, failed), window).counted(0, 0, harmless);
    }
    LiveWatch next = w.observed(false, new LiveWatch.Obs(target, failed), window);
    if (!s.getAppliedRuleIds().contains(rule.getRuleId())) {
      return next;
    }
    String pattern = rule.getEvidence().getPatternKey();
    return switch (kind) {
      case PRE_VALIDATE_SYNTAX -> next.counted(1, target ? 1 : 0, 0);
      case BLOCK_AND_ALERT -> next.counted(1, 1, 0);
      default -> next.counted(1, failed ? 0 : 1,
          failed && !pattern.equals(s.getPatternKey()) ? 1 : 0);
    };
  }

  static boolean target(ProtocolRule rule, RuleSample s) {
    return switch (rule.getAction().getKind()) {
      case BLOCK_AND_ALERT -> !RuleScope.blocked(rule.getCondition(), rule.getAction(),
          s.getFindings()).isEmpty();
      case PRE_VALIDATE_SYNTAX -> !s.getSuccess() && s.getPatternKey() != null
          && s.getPatternKey().startsWith("SYNTAX|");
      default -> !s.getSuccess() && rule.getEvidence().getPatternKey().equals(s.getPatternKey());
    };
  }

  /** Why the rule must be retired, if it must. */
  public static Optional<String> judge(LiveWatch w, ProtocolRule rule,
      StreamsSettings.Live settings) {
    Figures f = figures(w);
    RuleValue value = RuleValue.of(rule.getAction().getKind());
    double alpha = settings.alpha();
    if (f.nOff >= settings.minHoldout() && f.nOn >= settings.minHoldout()) {
      boolean keepsVerdicts = value == RuleValue.LESS_COST;
      int kOn = keepsVerdicts ? f.fOn : f.kOn;
      int kOff = keepsVerdicts ? f.fOff : f.kOff;
      double worse = Stats.fisherLess(kOn, f.nOn, kOff, f.nOff);
      if (worse <= alpha) {
        return Optional.of(String.format(Locale.ROOT, "live benefit turned negative: %s %d/%d "
            + "with rules vs %d/%d held out (one-sided Fisher p = %.4f <= alpha = %.2f)",
            keepsVerdicts ? "failed" : "failed with its pattern", kOn, f.nOn, kOff, f.nOff,
            worse, alpha));
      }
    }
    if (w.hurt() >= settings.minHurt() && w.hurt() > w.helped()) {
      return Optional.of(String.format(Locale.ROOT, "hurt more than it helped live: applied %d, "
          + "helped %d, hurt %d", w.applied(), w.helped(), w.hurt()));
    }
    if (f.nOff >= settings.window()) {
      if (value == RuleValue.LESS_COST && f.kOff == 0) {
        return Optional.of(String.format(Locale.ROOT, "live benefit disappeared: none of the "
            + "last %d held-out actions is one it acts on (nothing left to save)", f.nOff));
      }
      if (value != RuleValue.LESS_COST && f.pBenefit > alpha) {
        return Optional.of(String.format(Locale.ROOT, "live benefit disappeared: its pattern "
            + "failed %d/%d held out vs %d/%d with rules (one-sided Fisher p = %.4f > alpha = "
            + "%.2f)", f.kOff, f.nOff, f.kOn, f.nOn, f.pBenefit, alpha));
      }
    }
    return Optional.empty();
  }

  public static LiveEvidence evidence(LiveWatch w, String verdict, long now) {
    Figures f = figures(w);
    double benefit = (f.nOff == 0 ? 0 : (double) f.kOff / f.nOff)
        - (f.nOn == 0 ? 0 : (double) f.kOn / f.nOn);
    return LiveEvidence.newBuilder()
        .setHoldoutActions(f.nOff).setHoldoutFailures(f.kOff)
        .setTreatedActions(f.nOn).setTreatedFailures(f.kOn)
        .setBenefit(benefit)
        .setPValue(f.nOff == 0 || f.nOn == 0 ? null : f.pBenefit)
        .setVerdict(verdict == null ? String.format(Locale.ROOT, "watching: targets %d/%d held "
            + "out vs %d/%d with rules; applied %d, helped %d, hurt %d", f.kOff, f.nOff, f.kOn,
            f.nOn, w.applied(), w.helped(), w.hurt()) : verdict)
        .setUpdatedAt(Instant.ofEpochMilli(now))
        .build();
  }

  private record Figures(int nOff, int kOff, int fOff, int nOn, int kOn, int fOn,
      double pBenefit) {
  }

  private static Figures figures(LiveWatch w) {
    int nOff = w.holdout().size();
    int kOff = (int) LiveWatch.count(w.holdout(), true);
    int nOn = w.treated().size();
    int kOn = (int) LiveWatch.count(w.treated(), true);
    return new Figures(nOff, kOff, (int) LiveWatch.count(w.holdout(), false), nOn, kOn,
        (int) LiveWatch.count(w.treated(), false), Stats.fisherLess(kOff, nOff, kOn, nOn));
  }
}
