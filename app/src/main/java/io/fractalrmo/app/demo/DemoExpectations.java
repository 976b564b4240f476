package io.fractalrmo.app.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a default demo run must show, in one place — the report prints whether it did, and the
 * end-to-end test asserts it. When the pipeline's behaviour changes on purpose (say, the
 * sandbox rework stops blocking some finding types by default), adapt it here:
 * <ul>
 *   <li>the fixable error rate (MISSING_IMPORT, SLOW) falls by at least
 *       {@link #MIN_FIXABLE_REDUCTION} with rules on vs off, in the same run;</li>
 *   <li>wrong results fail both ways; canonical solutions pass both ways;</li>
 *   <li>syntax slips fail both ways (PRE_VALIDATE_SYNTAX only makes them fail cheaper);</li>
 *   <li>no task with a forbidden call succeeds. Today FaultInjector inserts {@code os.system},
 *       {@code subprocess} or a socket, whose SECURITY findings are HIGH and blocking, so the
 *       plan blocks them; if those stop blocking by default, the fault must use a finding type
 *       that still blocks, or this line must say what is expected instead;</li>
 *   <li>a cost-saving kind among {@link #COST_SAVING_ADOPTED} is adopted on its merits
 *       (PRE_VALIDATE_SYNTAX from the syntax slips; BLOCK_AND_ALERT is rejected in the default
 *       demo because the plan already blocks every forbidden call, so it has nothing to save);</li>
 *   <li>no harmful rule is adopted ({@link DemoReport#harmfulRules()}).</li>
 * </ul>
 * These hold for {@link Workload#DEFAULT}; other workloads are for figures and have none.
 */
public final class DemoExpectations {

  public static final double MIN_FIXABLE_REDUCTION = 0.70;
  public static final Set<String> COST_SAVING_ADOPTED = Set.of("PRE_VALIDATE_SYNTAX");

  /** One expectation, so a smaller run can leave out what its size cannot show. */
  public enum Expectation {
    FIXABLE_FIXED, WRONG_RESULTS_FAIL, CANONICAL_PASS, SYNTAX_FAILS, FORBIDDEN_NEVER_PASSES,
    COST_SAVING_ADOPTED, NO_HARMFUL_RULE
  }

  private DemoExpectations() {
  }

  /** What the report shows against the expectations; empty when all are met. */
  static List<String> unmet(DemoReport r, Workload workload) {
    return unmet(r, workload, Set.of());
  }

  /** The same, leaving out {@code skipped}. */
  public static List<String> unmet(DemoReport r, Workload workload, Set<Expectation> skipped) {
    List<String> unmet = new ArrayList<>();
    if (workload != Workload.DEFAULT) {
      return unmet;
    }
    DemoReport.Rate off = r.rate(DemoTask.Arm.RULES_OFF, Fault.FaultClass.FIXABLE);
    DemoReport.Rate on = r.rate(DemoTask.Arm.RULES_ON, Fault.FaultClass.FIXABLE);
    double reduction = off.rate() > 0 ? (off.rate() - on.rate()) / off.rate() : Double.NaN;
    if (!skipped.contains(Expectation.FIXABLE_FIXED) && !(reduction >= MIN_FIXABLE_REDUCTION)) {
      unmet.add(String.format(Locale.ROOT, "fixable error rate fell %s with rules on vs off "
          + "(at least %.0f%% expected)", DemoReport.pct(reduction), 100 * MIN_FIXABLE_REDUCTION));
    }
    for (DemoTask.Arm arm : List.of(DemoTask.Arm.RULES_OFF, DemoTask.Arm.RULES_ON)) {
      DemoReport.Rate wrong = r.rate(arm, Fault.WRONG_RESULT);
      if (!skipped.contains(Expectation.WRONG_RESULTS_FAIL) && wrong.errors() < wrong.total()) {
        unmet.add("a wrong result passed with " + arm);
      }
      DemoReport.Rate canonical = r.rate(arm, Fault.NONE);
      if (!skipped.contains(Expectation.CANONICAL_PASS) && canonical.errors() > 0) {
        unmet.add(canonical.errors() + " canonical solution(s) failed with " + arm);
      }
      DemoReport.Rate syntax = r.rate(arm, Fault.SYNTAX_SLIP);
      if (!skipped.contains(Expectation.SYNTAX_FAILS) && syntax.errors() < syntax.total()) {
        unmet.add("a syntax slip passed with " + arm);
      }
    }
    if (!skipped.contains(Expectation.FORBIDDEN_NEVER_PASSES) && r.forbiddenCallsSucceeded() > 0) {
      unmet.add(r.forbiddenCallsSucceeded() + " task(s) with a forbidden call succeeded");
    }
    if (!skipped.contains(Expectation.COST_SAVING_ADOPTED) && r.rules().stream()
        .noneMatch(v -> v.adopted() && COST_SAVING_ADOPTED.contains(v.action()))) {
      unmet.add("no cost-saving rule (" + String.join(", ", COST_SAVING_ADOPTED)
          + ") was adopted: " + r.costSavingLine());
    }
    if (!skipped.contains(Expectation.NO_HARMFUL_RULE) && !r.harmfulRules().isEmpty()) {
      unmet.add("harmful rules adopted: " + r.harmfulRules().keySet());
    }
    return unmet;
  }
}
