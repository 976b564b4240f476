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

  /** ACTIVE rules whose trial shows no benefit, that did not help later, or let a wrong answer pass. */
  public Map<String, String> harmfulRules() {
    Map<String, String> harmful = new LinkedHashMap<>();
    for (RuleView rule : rules()) {
      if (!rule.active()) {
        continue;
      }
      if (rule.trial() == null || !rule.trial().showsBenefit()) {
        harmful.put(rule.ruleId(), "ACTIVE without a trial showing a lower error rate");
        continue;
      }
      Fault target = rule.targetFault();
      if (target != null) {
        Rate off = rate(DemoTask.Arm.RULES_OFF, target);
        Rate on = rate(DemoTask.Arm.RULES_ON, target);
        if (off.total() > 0 && off.errors() > 0 && on.total() > 0 && on.rate() >= off.rate()) {
          harmful.put(rule.ruleId(), String.format(Locale.ROOT,
              "no later benefit on %s: error rate %.0f%% off, %.0f%% on", target,
              100 * off.rate(), 100 * on.rate()));
        }
      }
    }
    for (DemoTask t : plan.all()) {
      TaskOutcome o = outcome(t);
      if (t.fault() == Fault.WRONG_RESULT && o.succeeded()) {
        for (String id : o.appliedRuleIds()) {
          harmful.put(id, "made a wrong solution pass (" + t.taskId() + ")");
        }
      }
    }
    return harmful;
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
        Map<String, Object> tm = new LinkedHashMap<>();
        tm.put("sample_size", r.trial().sampleSize());
        tm.put("error_rate_without", num(r.trial().errorRateWithout()));
        tm.put("error_rate_with", num(r.trial().errorRateWith()));
        tm.put("mean_duration_ms_without", num(r.trial().meanDurationMsWithout()));
        tm.put("mean_duration_ms_with", num(r.trial().meanDurationMsWith()));
        tm.put("verdict", r.trial().verdict());
        tm.put("shows_benefit", r.trial().showsBenefit());
        rm.put("trial", tm);
      } else {
        rm.put("trial", null);
      }
      rm.put("seen_after_s", num(seconds(r.firstSeenMs())));
      rm.put("active_after_s", r.activatedAtMs() > 0 ? num(seconds(r.activatedAtMs())) : null);
      ruleList.add(rm);
    }
    m.put("rules", ruleList);
    List<Map<String, Object>> harmful = new ArrayList<>();
    harmfulRules().forEach((id, why) -> harmful.add(Map.of("rule_id", id, "reason", why)));
    m.put("harmful_rules_adopted", harmful);
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
    b.append(String.format(Locale.ROOT, "%nrules%n%-60s %-9s %-20s %5s  %s%n", "rule", "status",
        "action", "conf", "trial (error rate without -> with, mean cost)"));
    for (RuleView r : rules()) {
      String trial = r.trial() == null ? "-" : String.format(Locale.ROOT,
          "%d actions: %s -> %s, %.0f ms -> %.0f ms", r.trial().sampleSize(),
          pct(r.trial().errorRateWithout()), pct(r.trial().errorRateWith()),
          r.trial().meanDurationMsWithout(), r.trial().meanDurationMsWith());
      b.append(String.format(Locale.ROOT, "%-60s %-9s %-20s %5.2f  %s%n", r.ruleId(),
          r.status(), r.action(), r.confidence(), trial));
    }
    if (rules.isEmpty()) {
      b.append("(none)\n");
    }
    Map<String, String> harmful = harmfulRules();
    b.append(String.format(Locale.ROOT, "harmful rules adopted: %s%n",
        harmful.isEmpty() ? "none" : harmful));
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
