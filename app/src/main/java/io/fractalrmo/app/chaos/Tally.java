package io.fractalrmo.app.chaos;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What a chaos run did and what the verifier found, as printed at its end. */
record Tally(ChaosRun.Options options, Map<String, Integer> kills, int brokerRestarts,
    int postgresPauses, List<Long> recoveries, int notRecovered, Verifier.Findings findings,
    boolean sinkCaughtUp, int outboxed, long elapsedMs, long baselineMs, long drainMs,
    Map<String, List<Long>> recoveryByFault) {

  boolean passed() {
    return findings.passed() && notRecovered == 0 && sinkCaughtUp;
  }

  void print(PrintWriter out) {
    Verifier.Findings f = findings;
    List<Long> sorted = ChaosRun.sorted(recoveries);
    out.println();
    out.println("chaos tally");
    out.printf(Locale.ROOT, "  cycles       %d (brokers %d, seed %d, %.0f s)%n", options.cycles(),
        options.brokers(), options.seed(), elapsedMs / 1000.0);
    out.printf(Locale.ROOT, "  kills        %s; broker restarts %d; postgres freezes %d%n",
        kills.isEmpty() ? "none" : kills, brokerRestarts, postgresPauses);
    out.printf(Locale.ROOT, "  tasks        %d (%d through the outbox), final %s%n", f.tasks,
        outboxed, f.finals);
    out.printf(Locale.ROOT, "  lost         %d (tasks without a final status %d, actions without"
            + " a result %d, without an outcome %d)%n", f.lostCount(), f.lost.size(),
        f.missingResults.size(), f.missingOutcomes.size());
    out.printf(Locale.ROOT, "  duplicated   %d (tasks with two final statuses %d, results %d,"
            + " outcomes %d, plans %d, error reports %d)%n", f.duplicatedCount(),
        f.multipleFinals.size(), f.duplicateResults.size(), f.duplicateOutcomes.size(),
        f.duplicatePlans.size(), f.duplicateErrors.size());
    out.printf(Locale.ROOT, "  wrong        %d (final state not the expected one)%n",
        f.wrong.size());
    out.printf(Locale.ROOT, "  actions      %d counted (%d trial re-runs), %d blocked; %d error"
            + " events; %d task records entered twice (outbox, at least once)%n",
        f.actionsCounted, f.trialActions, f.blocked, f.errorEvents, f.tasksTopicDuplicates);
    out.printf(Locale.ROOT, "  postgres     %s%s%n", f.postgres.isEmpty() ? "consistent"
        : f.postgres.size() + " problem(s)", sinkCaughtUp ? "" : " (sink NOT caught up)");
    out.printf(Locale.ROOT, "  rules        %d (%d patterns); ACTIVE %s, recomputed %s%s%n",
        f.rulesTotal, f.patterns, f.activeLive, f.activeRecomputed,
        f.rules.isEmpty() ? "" : "; " + f.rules.size() + " problem(s)");
    if (sorted.isEmpty()) {
      out.println("  recovery     no cycle recovered");
    } else {
      out.printf(Locale.ROOT, "  recovery     max %.1f s, p50 %.1f s (fault -> a canary on every"
              + " tasks partition final)%s%n", sorted.get(sorted.size() - 1) / 1000.0,
          sorted.get(sorted.size() / 2) / 1000.0,
          notRecovered == 0 ? "" : "; " + notRecovered + " cycle(s) NOT recovered in time");
    }
    StringBuilder by = new StringBuilder();
    recoveryByFault.forEach((fault, times) -> {
      List<Long> t = ChaosRun.sorted(times);
      by.append(String.format(Locale.ROOT, "%s%s p50 %.1f s max %.1f s (%d)",
          by.length() == 0 ? "" : "; ", fault, t.get(t.size() / 2) / 1000.0,
          t.get(t.size() - 1) / 1000.0, t.size()));
    });
    out.printf(Locale.ROOT, "  by fault     %s%n", by.length() == 0 ? "-" : by);
    out.printf(Locale.ROOT, "  baseline     canaries final %s after submission with no fault;"
        + " backlog drained %s after the last fault%n", baselineMs < 0 ? "NOT within the recovery"
            + " timeout" : String.format(Locale.ROOT, "%.1f s", baselineMs / 1000.0),
        drainMs < 0 ? "NOT" : String.format(Locale.ROOT, "%.1f s", drainMs / 1000.0));
    if (f.unreadable > 0) {
      out.printf(Locale.ROOT, "  unreadable   %d record(s) did not deserialize%n", f.unreadable);
    }
    details(out, "lost task", f.lost);
    details(out, "wrong", f.wrong);
    details(out, "two finals", f.multipleFinals);
    details(out, "no result", f.missingResults);
    details(out, "no outcome", f.missingOutcomes);
    details(out, "dup result", f.duplicateResults);
    details(out, "dup outcome", f.duplicateOutcomes);
    details(out, "dup plan", f.duplicatePlans);
    details(out, "dup error", f.duplicateErrors);
    details(out, "orphan", f.orphanResults);
    details(out, "postgres", f.postgres);
    details(out, "rules", f.rules);
    out.println("  result       " + (passed() ? "PASS" : "FAIL"));
    out.flush();
  }

  private static void details(PrintWriter out, String label, List<String> items) {
    items.stream().limit(10).forEach(i -> out.printf(Locale.ROOT, "    %-12s %s%n", label, i));
    if (items.size() > 10) {
      out.printf(Locale.ROOT, "    %-12s ... %d more%n", label, items.size() - 10);
    }
  }
}
