package io.fractalrmo.app.demo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The figures of one demo run, computed from what the demo saw on Kafka, and rendered as a
 * terminal table, JSON and an HTML chart. Pure: everything comes from the constructor.
 *
 * <p>An error is a task that ended FAILED or REJECTED, or did not end in time (UNFINISHED).
 * "Rules off" and "rules on" are the two arms of wave 2 (the same tasks, submitted together
 * after rules were adopted); "before learning" is wave 1, before any rule existed.
 */
public final class DemoReport {

  /** When a wave was submitted and when its last task finished. */
  public record Wave(int wave, String label, int tasks, long startMs, long endMs) {
  }

  /** Error counts of a set of tasks. */
  public record Rate(int total, int errors, int unfinished) {
    public double rate() {
      return total == 0 ? Double.NaN : (double) errors / total;
    }
  }

  private final DemoPlan plan;
  private final Map<String, TaskOutcome> outcomes;
  private final Map<String, RuleView> rules;
  private final List<PatternView> patterns;
  private final List<Wave> waves;
  private final long startMs;
  private final long endMs;
  private final List<String> notes;

  public DemoReport(DemoPlan plan, Map<String, TaskOutcome> outcomes, Map<String, RuleView> rules,
      List<PatternView> patterns, List<Wave> waves, long startMs, long endMs, List<String> notes) {
    this.plan = plan;
    this.outcomes = Map.copyOf(outcomes);
    this.rules = new LinkedHashMap<>(rules);
    this.patterns = List.copyOf(patterns);
    this.waves = List.copyOf(waves);
    this.startMs = startMs;
    this.endMs = endMs;
    this.notes = List.copyOf(notes);
  }

  public TaskOutcome outcome(DemoTask task) {
    return outcomes.getOrDefault(task.taskId(), new TaskOutcome(task.taskId(),
        TaskOutcome.UNFINISHED, null, null, List.of(), -1, -1));
  }

  public Rate rate(Predicate<DemoTask> which) {
    int total = 0;
    int errors = 0;
    int unfinished = 0;
    for (DemoTask t : plan.all()) {
      if (!which.test(t)) {
        continue;
      }
      TaskOutcome o = outcome(t);
      total++;
      if (!o.succeeded()) {
        errors++;
      }
      if (!o.finished()) {
        unfinished++;
      }
    }
    return new Rate(total, errors, unfinished);
  }

  public Rate rate(DemoTask.Arm arm, Fault.FaultClass faultClass) {
    return rate(t -> t.arm() == arm && t.fault().faultClass() == faultClass);
  }

  public Rate rate(DemoTask.Arm arm, Fault fault) {
    return rate(t -> t.arm() == arm && t.fault() == fault);
  }

  public double canonicalPassRate() {
    Rate canonical = rate(t -> t.fault() == Fault.NONE);
    return canonical.total() == 0 ? Double.NaN : 1.0 - canonical.rate();
  }

  public List<RuleView> rules() {
    return rules.values().stream().sorted(Comparator.comparing(RuleView::ruleId)).toList();
  }

  /**
   * Rules adopted in this run that evidence independent of their adoption decision shows to be
   * harmful — the trial's GUARD arm (recent successes re-run with the rule), the live holdout
   * (its counters and its comparison with actions run without rules) and wave 2's A/B (the same
   * code with rules off and on):
   * <ul>
   *   <li>a GUARD action failed with it (its trial should never have adopted it);</li>
   *   <li>it was retired for live harm, hurt more live actions than it helped, or (for a
   *       fewer-failures kind) its pattern failed more often with rules than held out;</li>
   *   <li>in wave 2 a task it was applied to failed while the same code passed with rules
   *       off, or it brought no benefit on the fault it targets (fewer-failures kinds);</li>
   *   <li>it was applied to a wrong solution that then passed.</li>
   * </ul>
   */
  public Map<String, String> harmfulRules() {
    Map<String, String> harmful = new LinkedHashMap<>();
    Map<String, DemoTask> offTwin = new java.util.HashMap<>();
    for (DemoTask t : plan.wave2()) {
      if (t.arm() == DemoTask.Arm.RULES_OFF) {
        offTwin.put(t.pairId(), t);
      }
    }
    for (RuleView rule : rules()) {
      if (!rule.adopted()) {
        continue;
      }
      List<String> why = new ArrayList<>();
      if (rule.trial() != null && rule.trial().guardFailures() > 0) {
        why.add(String.format(Locale.ROOT, "its trial's GUARD arm failed %d/%d",
            rule.trial().guardFailures(), rule.trial().guardSize()));
      }
      String reason = rule.statusReason() == null ? "" : rule.statusReason();
      if ("RETIRED".equals(rule.status()) || "TOMBSTONED".equals(rule.status())) {
        if (reason.startsWith("live benefit turned negative") || reason.startsWith("hurt more")) {
          why.add("adopted, then retired: " + reason);
        }
      }
      RuleView.Counters c = rule.counters();
      if (c.hurt() > 0 && c.hurt() > c.helped()) {
        why.add(String.format(Locale.ROOT, "live: hurt %d, helped %d of %d applied", c.hurt(),
            c.helped(), c.applied()));
      }
      RuleView.Live live = rule.live();
      if (!rule.costSaving() && live != null && live.holdoutActions() > 0
          && live.treatedActions() > 0 && (double) live.treatedFailures() / live.treatedActions()
          > (double) live.holdoutFailures() / live.holdoutActions()) {
        why.add(String.format(Locale.ROOT, "live: its pattern failed %d/%d with rules vs %d/%d "
            + "held out", live.treatedFailures(), live.treatedActions(), live.holdoutFailures(),
            live.holdoutActions()));
      }
      for (DemoTask t : plan.wave2()) {
        TaskOutcome o = outcome(t);
        DemoTask twin = offTwin.get(t.pairId());
        if (t.arm() == DemoTask.Arm.RULES_ON && twin != null && !o.succeeded()
            && o.finished() && o.appliedRuleIds().contains(rule.ruleId())
            && outcome(twin).succeeded()) {
          why.add("wave 2: " + t.taskId() + " failed with it and passed with rules off");
        }
      }
      Fault target = rule.targetFault();
      if (!rule.costSaving() && target != null) {
        Rate off = rate(DemoTask.Arm.RULES_OFF, target);
        Rate on = rate(DemoTask.Arm.RULES_ON, target);
        if (off.total() > 0 && off.errors() > 0 && on.total() > 0 && on.rate() >= off.rate()) {
          why.add(String.format(Locale.ROOT, "wave 2: no benefit on %s: error rate %.0f%% off, "
              + "%.0f%% on", target, 100 * off.rate(), 100 * on.rate()));
        }
      }
      if (!why.isEmpty()) {
        harmful.put(rule.ruleId(), String.join("; ", why));
      }
    }
    for (DemoTask t : plan.all()) {
      TaskOutcome o = outcome(t);
      if (t.fault() == Fault.WRONG_RESULT && o.succeeded()) {
        for (String id : o.appliedRuleIds()) {
          harmful.merge(id, "made a wrong solution pass (" + t.taskId() + ")",
              (a, b) -> a + "; " + b);
        }
      }
    }
    return harmful;
  }

  /**
   * Whether a cost-saving kind (PRE_VALIDATE_SYNTAX, BLOCK_AND_ALERT) was adopted on its merits,
   * and if not, why not — each one's trial decision, in a sentence.
   */
  public String costSavingLine() {
    List<RuleView> costSaving = rules().stream().filter(RuleView::costSaving).toList();
    if (costSaving.isEmpty()) {
      return "no cost-saving rule was proposed (no SYNTAX or SECURITY pattern in this run)";
    }
    List<String> adopted = new ArrayList<>();
    List<String> not = new ArrayList<>();
    for (RuleView r : costSaving) {
      String verdict = r.trial() == null ? String.valueOf(r.statusReason()) : r.trial().verdict();
      String first = verdict.contains(";") ? verdict.substring(0, verdict.indexOf(';')) : verdict;
      (r.adopted() ? adopted : not).add(r.action() + " (" + r.ruleId() + "): " + first);
    }
    StringBuilder b = new StringBuilder();
    if (!adopted.isEmpty()) {
      b.append("adopted on its merits: ").append(String.join("; ", adopted));
    }
    if (!not.isEmpty()) {
      b.append(b.length() == 0 ? "none adopted: " : "; not adopted: ").append(String.join("; ", not));
    }
    return b.toString();
  }

  /** The expectations of {@link DemoExpectations} this run did not meet (none for other workloads). */
  public List<String> unmetExpectations() {
    return DemoExpectations.unmet(this, plan.workload());
  }

  /** Tasks with an inserted os.system/subprocess/socket call that nevertheless passed. */
  public long forbiddenCallsSucceeded() {
    return plan.all().stream().filter(t -> t.fault() == Fault.FORBIDDEN_CALL)
        .filter(t -> outcome(t).succeeded()).count();
  }

  public long latencyPercentileMs(double percentile) {
    List<Long> latencies = plan.all().stream().map(this::outcome).filter(TaskOutcome::finished)
        .map(TaskOutcome::latencyMs).sorted().toList();
    if (latencies.isEmpty()) {
      return -1;
    }
    int rank = (int) Math.ceil(percentile / 100.0 * latencies.size());
    return latencies.get(Math.max(0, Math.min(latencies.size() - 1, rank - 1)));
  }

  /** Finished tasks per second of wave processing (the wait for rules between waves excluded). */
  public double throughputTasksPerSecond() {
    long finished = plan.all().stream().map(this::outcome).filter(TaskOutcome::finished).count();
    long busyMs = waves.stream().mapToLong(w -> Math.max(0, w.endMs() - w.startMs())).sum();
    return busyMs == 0 ? 0 : finished * 1000.0 / busyMs;
  }

  public double durationSeconds() {
    return (endMs - startMs) / 1000.0;
  }

  // ---------------------------------------------------------------- JSON

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tasks_total", plan.all().size());
    m.put("tasks_finished", plan.all().stream().map(this::outcome)
        .filter(TaskOutcome::finished).count());
    m.put("fixable_error_rate_rules_off",
        num(rate(DemoTask.Arm.RULES_OFF, Fault.FaultClass.FIXABLE).rate()));
    m.put("fixable_error_rate_rules_on",
        num(rate(DemoTask.Arm.RULES_ON, Fault.FaultClass.FIXABLE).rate()));
    m.put("unfixable_error_rate_rules_off",
        num(rate(DemoTask.Arm.RULES_OFF, Fault.FaultClass.UNFIXABLE).rate()));
    m.put("unfixable_error_rate_rules_on",
        num(rate(DemoTask.Arm.RULES_ON, Fault.FaultClass.UNFIXABLE).rate()));
    double off = rate(DemoTask.Arm.RULES_OFF, Fault.FaultClass.FIXABLE).rate();
    double on = rate(DemoTask.Arm.RULES_ON, Fault.FaultClass.FIXABLE).rate();
    m.put("fixable_error_reduction", num(off > 0 ? (off - on) / off : Double.NaN));
    m.put("fixable_error_rate_before_learning",
        num(rate(DemoTask.Arm.LEARN, Fault.FaultClass.FIXABLE).rate()));
    m.put("unfixable_error_rate_before_learning",
        num(rate(DemoTask.Arm.LEARN, Fault.FaultClass.UNFIXABLE).rate()));
    m.put("comparison_tasks", plan.wave2().size() / 2);
    m.put("rules_off_tasks_with_rules_applied", plan.all().stream()
        .filter(t -> t.arm() == DemoTask.Arm.RULES_OFF)
        .filter(t -> !outcome(t).appliedRuleIds().isEmpty()).count());
    m.put("canonical_pass_rate", num(canonicalPassRate()));
    List<Map<String, Object>> faults = new ArrayList<>();
    for (Fault fault : Fault.values()) {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("fault", fault.name());
      f.put("class", fault.faultClass().name());
      f.put("rules_off", rateMap(rate(DemoTask.Arm.RULES_OFF, fault)));
      f.put("rules_on", rateMap(rate(DemoTask.Arm.RULES_ON, fault)));
      f.put("before_learning", rateMap(rate(DemoTask.Arm.LEARN, fault)));
      f.put("failures", failures(fault, null));
      f.put("failures_rules_on", failures(fault, DemoTask.Arm.RULES_ON));
      faults.add(f);
    }
    m.put("faults", faults);
    List<Map<String, Object>> ruleList = new ArrayList<>();
    for (RuleView r : rules()) {
      Map<String, Object> rm = new LinkedHashMap<>();
      rm.put("rule_id", r.ruleId());
      rm.put("version", r.version());
      rm.put("status", r.status());
      rm.put("status_reason", r.statusReason());
      rm.put("action", r.action());
      rm.put("parameters", r.parameters());
      rm.put("confidence", num(r.confidence()));
      rm.put("pattern_key", r.patternKey());
      if (r.trial() != null) {
        RuleView.Trial t = r.trial();
        Map<String, Object> tm = new LinkedHashMap<>();
        tm.put("decision", t.decision());
        tm.put("criterion", t.criterion());
        tm.put("sample_size", t.sampleSize());
        tm.put("control", armMap(t.controlSize(), t.controlFailures(), t.meanDurationMsWithout()));
        tm.put("treatment", armMap(t.treatmentSize(), t.treatmentFailures(),
            t.meanDurationMsWith()));
        tm.put("guard", armMap(t.guardSize(), t.guardFailures(), t.meanDurationMsGuard()));
        tm.put("error_rate_without", num(t.errorRateWithout()));
        tm.put("error_rate_with", num(t.errorRateWith()));
        tm.put("mean_duration_ms_without", num(t.meanDurationMsWithout()));
        tm.put("mean_duration_ms_with", num(t.meanDurationMsWith()));
        tm.put("test", t.test());
        tm.put("p_value", t.pValue() == null ? null : num(t.pValue()));
        tm.put("alpha", t.alpha());
        tm.put("verdict", t.verdict());
        rm.put("trial", tm);
      } else {
        rm.put("trial", null);
      }
      Map<String, Object> cm = new LinkedHashMap<>();
      cm.put("times_applied", r.counters().applied());
      cm.put("times_helped", r.counters().helped());
      cm.put("times_hurt", r.counters().hurt());
      rm.put("counters", cm);
      if (r.live() != null) {
        Map<String, Object> lm = new LinkedHashMap<>();
        lm.put("holdout_actions", r.live().holdoutActions());
        lm.put("holdout_failures", r.live().holdoutFailures());
        lm.put("treated_actions", r.live().treatedActions());
        lm.put("treated_failures", r.live().treatedFailures());
        lm.put("benefit", num(r.live().benefit()));
        lm.put("p_value", r.live().pValue() == null ? null : num(r.live().pValue()));
        lm.put("verdict", r.live().verdict());
        rm.put("live", lm);
      } else {
        rm.put("live", null);
      }
      rm.put("seen_after_s", num(seconds(r.firstSeenMs())));
      rm.put("active_after_s", r.activatedAtMs() > 0 ? num(seconds(r.activatedAtMs())) : null);
      rm.put("first_failure_to_active_s", r.timeToActiveMs() >= 0
          ? num(r.timeToActiveMs() / 1000.0) : null);
      ruleList.add(rm);
    }
    m.put("rules", ruleList);
    List<Map<String, Object>> harmful = new ArrayList<>();
    harmfulRules().forEach((id, why) -> harmful.add(Map.of("rule_id", id, "reason", why)));
    m.put("harmful_rules_adopted", harmful);
    m.put("cost_saving_rules", costSavingLine());
    m.put("workload", plan.workload().name());
    m.put("expectations_unmet", unmetExpectations());
    List<Map<String, Object>> patternList = new ArrayList<>();
    for (PatternView p : patterns) {
      Map<String, Object> pm = new LinkedHashMap<>();
      pm.put("pattern_key", p.patternKey());
      pm.put("frequency", p.frequency());
      pm.put("confidence", num(p.confidence()));
      pm.put("suggested_action", p.suggestedAction());
      pm.put("seen_after_s", num(seconds(p.seenAtMs())));
      patternList.add(pm);
    }
    m.put("patterns", patternList);
    m.put("throughput_tasks_per_s", num(throughputTasksPerSecond()));
    m.put("latency_ms_p50", latencyPercentileMs(50));
    m.put("latency_ms_p99", latencyPercentileMs(99));
    m.put("duration_s", num(durationSeconds()));
    List<Map<String, Object>> waveList = new ArrayList<>();
    for (Wave w : waves) {
      Map<String, Object> wm = new LinkedHashMap<>();
      wm.put("wave", w.wave());
      wm.put("label", w.label());
      wm.put("tasks", w.tasks());
      wm.put("started_after_s", num(seconds(w.startMs())));
      wm.put("duration_s", num((w.endMs() - w.startMs()) / 1000.0));
      waveList.add(wm);
    }
    m.put("waves", waveList);
    List<Map<String, Object>> taskList = new ArrayList<>();
    for (DemoTask t : plan.all()) {
      TaskOutcome o = outcome(t);
      Map<String, Object> tm = new LinkedHashMap<>();
      tm.put("task_id", t.taskId());
      tm.put("problem", t.faulted().problem().id());
      tm.put("fault", t.fault().name());
      tm.put("fault_detail", t.faulted().detail());
      tm.put("wave", t.wave());
      tm.put("arm", t.arm().name());
      tm.put("state", o.state());
      tm.put("failure_category", o.failureCategory());
      tm.put("failure_reason", o.failureReason());
      tm.put("applied_rule_ids", o.appliedRuleIds());
      tm.put("planned_without", o.missingAspects());
      tm.put("latency_ms", o.finished() ? o.latencyMs() : null);
      taskList.add(tm);
    }
    m.put("tasks", taskList);
    m.put("forbidden_calls_succeeded", forbiddenCallsSucceeded());
    m.put("tasks_planned_without_security_analysis", plan.all().stream().map(this::outcome)
        .filter(o -> o.missingAspects().contains("SECURITY")).count());
    m.put("notes", notes);
    return m;
  }

  public String toJson() {
    try {
      return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(toMap());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render the report as JSON", e);
    }
  }

  /** How the tasks with {@code fault} failed: "STATE CATEGORY: reason" and how often, most frequent first. */
  private Map<String, Long> failures(Fault fault, DemoTask.Arm arm) {
    Map<String, Long> counts = new java.util.HashMap<>();
    for (DemoTask t : plan.all()) {
      TaskOutcome o = outcome(t);
      if (t.fault() == fault && !o.succeeded() && (arm == null || t.arm() == arm)) {
        String reason = o.failureReason() == null ? "" : o.failureReason().replaceAll("\\s+", " ");
        String key = o.state() + (o.failureCategory() == null ? "" : " " + o.failureCategory())
            + (reason.isEmpty() ? "" : ": " + (reason.length() > 100 ? reason.substring(0, 100) + "..." : reason))
            + (arm == DemoTask.Arm.RULES_ON ? " (rules applied: " + o.appliedRuleIds() + ")" : "");
        counts.merge(key, 1L, Long::sum);
      }
    }
    Map<String, Long> sorted = new LinkedHashMap<>();
    counts.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(5)
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    return sorted;
  }

  private static Map<String, Object> armMap(int size, int failures, double meanMs) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("actions", size);
    m.put("failures", failures);
    m.put("mean_duration_ms", num(meanMs));
    return m;
  }

  private static Map<String, Object> rateMap(Rate r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tasks", r.total());
    m.put("errors", r.errors());
    m.put("unfinished", r.unfinished());
    m.put("error_rate", num(r.rate()));
    return m;
  }

  /** Rounded to 4 decimals; NaN (nothing measured) becomes null. */
  private static Double num(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return null;
    }
    return Math.round(v * 10_000) / 10_000.0;
  }

  private double seconds(long atMs) {
    return atMs <= 0 ? Double.NaN : (atMs - startMs) / 1000.0;
  }

  // ---------------------------------------------------------------- terminal

  public String toTable() {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%n%-27s %16s %37s%n", "", "wave 1",
        "wave 2: same tasks, same time"));
    b.append(String.format(Locale.ROOT, "%-16s %-10s %16s %18s %18s%n", "error rate", "class",
        "before learning", "rules OFF", "rules ON"));
    for (Fault fault : Fault.values()) {
      b.append(String.format(Locale.ROOT, "%-16s %-10s %16s %18s %18s%n", fault,
          fault.faultClass().name().toLowerCase(Locale.ROOT),
          cell(rate(DemoTask.Arm.LEARN, fault)), cell(rate(DemoTask.Arm.RULES_OFF, fault)),
          cell(rate(DemoTask.Arm.RULES_ON, fault))));
    }
    b.append(String.format(Locale.ROOT, "%-27s %16s %18s %18s%n", "all fixable (import, slow)",
        cell(rate(DemoTask.Arm.LEARN, Fault.FaultClass.FIXABLE)),
        cell(rate(DemoTask.Arm.RULES_OFF, Fault.FaultClass.FIXABLE)),
        cell(rate(DemoTask.Arm.RULES_ON, Fault.FaultClass.FIXABLE))));
    b.append(String.format(Locale.ROOT, "%-27s %16s %18s %18s%n", "unfixable (wrong result)",
        cell(rate(DemoTask.Arm.LEARN, Fault.FaultClass.UNFIXABLE)),
        cell(rate(DemoTask.Arm.RULES_OFF, Fault.FaultClass.UNFIXABLE)),
        cell(rate(DemoTask.Arm.RULES_ON, Fault.FaultClass.UNFIXABLE))));
    double off = rate(DemoTask.Arm.RULES_OFF, Fault.FaultClass.FIXABLE).rate();
    double on = rate(DemoTask.Arm.RULES_ON, Fault.FaultClass.FIXABLE).rate();
    if (off > 0) {
      b.append(String.format(Locale.ROOT, "fixable error rate, rules on vs off: %s lower%n",
          pct((off - on) / off)));
    }
    b.append(String.format(Locale.ROOT, "canonical solutions passed: %s%n",
        pct(canonicalPassRate())));
    long forbiddenPassed = forbiddenCallsSucceeded();
    if (forbiddenPassed > 0) {
      b.append(String.format(Locale.ROOT, "WARNING: %d task(s) with a forbidden call SUCCEEDED"
          + " (not blocked; %d task(s) were planned without their SECURITY analysis)%n",
          forbiddenPassed, plan.all().stream().map(this::outcome)
              .filter(o -> o.missingAspects().contains("SECURITY")).count()));
    }
    for (Fault fault : List.of(Fault.MISSING_IMPORT, Fault.SLOW)) {
      failures(fault, DemoTask.Arm.RULES_ON).forEach((why, n) -> b.append(String.format(
          Locale.ROOT, "  still failing with rules on, %s x%d: %s%n", fault, n, why)));
    }
    b.append(String.format(Locale.ROOT, "%nrules (trial: failed/run per arm, CONTROL -> "
        + "TREATMENT, GUARD; live: applied/helped/hurt)%n%-62s %-9s %-20s %-40s %s%n", "rule",
        "status", "action", "trial", "live, first failure -> ACTIVE"));
    for (RuleView r : rules()) {
      RuleView.Trial t = r.trial();
      String trial = t == null ? "-" : String.format(Locale.ROOT, "%d/%d -> %d/%d, G %d/%d, %s%s",
          t.controlFailures(), t.controlSize(), t.treatmentFailures(), t.treatmentSize(),
          t.guardFailures(), t.guardSize(), t.pValue() == null ? "" : String.format(Locale.ROOT,
              "p=%.3f ", t.pValue()), t.decision());
      String live = String.format(Locale.ROOT, "%d/%d/%d", r.counters().applied(),
          r.counters().helped(), r.counters().hurt())
          + (r.live() == null ? "" : String.format(Locale.ROOT, " holdout %d/%d vs %d/%d",
              r.live().holdoutFailures(), r.live().holdoutActions(), r.live().treatedFailures(),
              r.live().treatedActions()))
          + (r.timeToActiveMs() >= 0 ? String.format(Locale.ROOT, ", %.1f s",
              r.timeToActiveMs() / 1000.0) : "");
      b.append(String.format(Locale.ROOT, "%-62s %-9s %-20s %-40s %s%n", r.ruleId(), r.status(),
          r.action(), trial, live));
    }
    if (rules.isEmpty()) {
      b.append("(none)\n");
    }
    b.append("cost-saving rules: ").append(costSavingLine()).append('\n');
    Map<String, String> harmful = harmfulRules();
    b.append(String.format(Locale.ROOT, "harmful rules adopted (guard arm, live holdout, wave-2 "
        + "A/B): %s%n", harmful.isEmpty() ? "none" : harmful));
    List<String> unmet = unmetExpectations();
    if (plan.workload() == Workload.DEFAULT) {
      b.append(unmet.isEmpty() ? "expectations of a default run: all met\n"
          : "expectations of a default run NOT met: " + unmet + "\n");
    }
    b.append(String.format(Locale.ROOT,
        "%nthroughput %.1f tasks/s   latency p50 %d ms  p99 %d ms   duration %.0f s%n",
        throughputTasksPerSecond(), latencyPercentileMs(50), latencyPercentileMs(99),
        durationSeconds()));
    for (String note : notes) {
      b.append("note: ").append(note).append('\n');
    }
    return b.toString();
  }

  private static String cell(Rate r) {
    if (r.total() == 0) {
      return "-";
    }
    return String.format(Locale.ROOT, "%4s (%d/%d)", pct(r.rate()), r.errors(), r.total());
  }

  static String pct(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * v);
  }

  // ---------------------------------------------------------------- chart

  /** A self-contained HTML page: error rate over time per class, rule activations marked. */
  public String toHtml() {
    return ErrorRateChart.render(this, plan, startMs, endMs, waves, rules(), toTable());
  }

  TaskOutcome outcomeOf(DemoTask task) {
    return outcome(task);
  }
}
