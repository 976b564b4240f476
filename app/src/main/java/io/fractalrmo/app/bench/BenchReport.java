package io.fractalrmo.app.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The benchmark's figures (the {@code bench.json} tree) as one table side by side, and as an HTML
 * page with inline SVG bars (no script, no CDN). The goals of issue #12 are printed beside each
 * figure, with how far each is from its goal.
 */
final class BenchReport {

  /** Work ratio goal, idle p50 goal (ms), p50 over bare goal (ms), plumbing goals, propagation slack. */
  static final double GOAL_WORK_RATIO = 0.5;
  static final double GOAL_LATENCY_P50_MS = 60;
  static final double GOAL_LATENCY_OVER_BARE_MS = 40;
  static final double GOAL_PLUMBING_ALOS = 0.5;
  static final double GOAL_PLUMBING_EOS = 0.35;
  static final double GOAL_PROPAGATION_SLACK_MS = 100;

  private BenchReport() {
  }

  static String table(JsonNode r) {
    StringBuilder b = new StringBuilder();
    JsonNode m = r.path("machine");
    b.append(String.format(Locale.ROOT, "%nfractal bench (%s) — %d cores, load average %.1f at start, %.1f at end, %.0f s%n",
        m.path("sizes").asText(), m.path("cores").asInt(), m.path("load_average_1m_at_start").asDouble(),
        m.path("load_average_1m_at_end").asDouble(), r.path("duration_s").asDouble()));
    String row = "%-41s %9s %16s %12s  %s%n";
    b.append(String.format(Locale.ROOT, row, "figure", "pipeline", "baseline", "ratio", "goal (#12)"));
    b.append("-".repeat(112)).append('\n');

    JsonNode w = r.path("work");
    JsonNode p = w.path("pipeline");
    if (r.has("work")) {
      double ratio = w.path("ratio").asDouble();
      b.append(String.format(Locale.ROOT, row,
          "work: tasks/s (" + p.path("succeeded").asInt() + "/" + p.path("tasks").asInt() + " ok)",
          f1(p.path("tasks_per_s")), f1(w.path("bare_tasks_per_s")) + " bare", f3(ratio),
          goal(ratio >= GOAL_WORK_RATIO, "ratio >= 0.5 (compass 1.0)", ratio - GOAL_WORK_RATIO)));
      double cpuRatio = w.path("cpu_ratio").asDouble();
      b.append(String.format(Locale.ROOT, row, "work: CPU ms per task (ours)",
          f0(p.path("cpu").path("tree_ms_per_task")), f1(w.path("bare_cpu_ms_per_task")) + " bare",
          f3(cpuRatio), "(load-robust: bare CPU / pipeline CPU)"));
      b.append(String.format(Locale.ROOT, row, "work: CPU ms per task (machine)",
          f0(p.path("cpu").path("machine_busy_ms_per_task")),
          f0(w.path("bare_before").path("cpu").path("machine_busy_ms_per_task")) + " bare", "",
          "(/proc/stat, all processes; load " + f1(p.path("cpu").path("load_average_1m")) + ")"));
      b.append(String.format(Locale.ROOT, row, "work: planned before all analyses",
          p.path("planned_without_all_analyses").asInt() + "/" + p.path("tasks").asInt(), "", "",
          "(the merge's analysis timeout passed first: analyzers behind)"));
    }

    JsonNode l = r.path("latency");
    double p50 = l.path("to_final_transition_ms").path("p50").asDouble();
    double bare50 = l.path("bare_run_ms").path("p50").asDouble();
    boolean latOk = p50 <= GOAL_LATENCY_P50_MS && p50 <= bare50 + GOAL_LATENCY_OVER_BARE_MS;
    double over = Math.max(p50 - GOAL_LATENCY_P50_MS, p50 - bare50 - GOAL_LATENCY_OVER_BARE_MS);
    if (r.has("latency")) {
      b.append(String.format(Locale.ROOT, row, "latency: idle task p50 ms", f0(l.path("to_final_transition_ms").path("p50")),
          f0(l.path("bare_run_ms").path("p50")) + " bare", "+" + f0(p50 - bare50),
          goal(latOk, "p50 <= 60 and <= bare + 40", -over)));
      b.append(String.format(Locale.ROOT, row, "latency: idle task p99 ms", f0(l.path("to_final_transition_ms").path("p99")),
          f0(l.path("bare_run_ms").path("p99")) + " bare", "", "final status visible p50 "
              + f0(l.path("to_final_status_visible_ms").path("p50")) + " ms"));
      StringBuilder stages = new StringBuilder();
      for (Iterator<Map.Entry<String, JsonNode>> it = l.path("stages_ms_p50").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        stages.append(e.getKey()).append(" +").append(f0(e.getValue())).append("  ");
      }
      b.append(String.format(Locale.ROOT, "%-34s %s%n", "latency: stages p50 ms", stages.toString().trim()));
      StringBuilder visible = new StringBuilder();
      for (Iterator<Map.Entry<String, JsonNode>> it = l.path("visible_ms_p50").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        visible.append(e.getKey()).append(" +").append(f0(e.getValue())).append("  ");
      }
      if (visible.length() > 0) {
        b.append(String.format(Locale.ROOT, "%-34s %s%n", "latency: visible p50 ms",
            visible.toString().trim()));
      }
      StringBuilder parts = new StringBuilder();
      for (Iterator<Map.Entry<String, JsonNode>> it = l.path("hop_parts_ms_p50").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        parts.append(e.getKey()).append(' ').append(f0(e.getValue().path("pickup"))).append('+')
            .append(f0(e.getValue().path("work"))).append('+')
            .append(f0(e.getValue().path("commit_to_visible"))).append("  ");
      }
      if (parts.length() > 0) {
        b.append(String.format(Locale.ROOT, "%-34s %s%n", "latency: hop pickup+work+commit p50",
            parts.toString().trim()));
      }
      JsonNode raw = l.path("raw_eos_hop_ms");
      if (!raw.isMissingNode()) {
        JsonNode c50 = raw.path("commit_to_visible").path("p50");
        JsonNode w50 = raw.path("input_to_output_visible").path("p50");
        int hops = raw.path("hops_per_task").asInt();
        b.append(String.format(Locale.ROOT, row, "latency: raw Kafka EOS hop p50 ms", f1(c50),
            "", "", "zero-work hop on this broker, commit -> visible (" + f1(w50) + " with pickup); x"
                + hops + " hops = " + f0(hops * w50.asDouble()) + " ms before any work"));
      }
    }

    JsonNode pl = r.path("plumbing");
    if (r.has("plumbing")) {
      for (JsonNode h : pl.path("hops")) {
        double ra = h.path("ratio_alos").asDouble();
        double re = h.path("ratio_eos").asDouble();
        boolean own = !h.path("topic").asText().equals("fractal.tasks");
        b.append(String.format(Locale.ROOT, row,
            "plumbing: " + h.path("topic").asText().replace("fractal.", "") + " rec/s",
            f0(h.path("pipeline_records_per_s")),
            f0(Math.min(h.path("raw_alos_produce_per_s").asDouble(), h.path("raw_alos_consume_per_s").asDouble()))
                + "/" + f0(Math.min(h.path("raw_eos_produce_per_s").asDouble(), h.path("raw_eos_consume_per_s").asDouble())),
            f2(ra) + "/" + f2(re),
            own ? "in the whole pipeline: its slowest stage paces every hop"
                : "(the benchmark's producer) " + f0(h.path("mean_record_bytes")) + " B"));
      }
      for (JsonNode h : pl.path("hops_alone")) {
        double ra = h.path("ratio_alos").asDouble();
        double re = h.path("ratio_eos").asDouble();
        boolean complete = h.path("seen").asLong() >= h.path("expected").asLong();
        b.append(String.format(Locale.ROOT, row,
            "plumbing: " + h.path("topic").asText().replace("fractal.", "") + " alone rec/s",
            f0(h.path("records_per_s")),
            f0(h.path("raw_alos_per_s")) + "/" + f0(h.path("raw_eos_per_s")),
            f2(ra) + "/" + f2(re),
            (!complete ? "INCOMPLETE " + h.path("seen").asLong() + "/" + h.path("expected").asLong()
                : h.path("records_per_s").asDouble() <= 0 ? "(all in one batch: too few records to time)"
                : goal(ra >= GOAL_PLUMBING_ALOS && re >= GOAL_PLUMBING_EOS, ">= 0.5 alos / 0.35 eos",
                Math.min(ra - GOAL_PLUMBING_ALOS, re - GOAL_PLUMBING_EOS)))
                + " " + h.path("role").asText() + " alone on a backlog"));
      }
      b.append(String.format(Locale.ROOT, row, "plumbing: zero-cost tasks/s", f0(pl.path("tasks_per_s")), "", "",
          pl.path("as_expected").asInt() + "/" + pl.path("tasks").asInt() + " ended as the mode says; raw = alos/eos, min(produce, consume)"));
    }

    JsonNode rp = r.path("rule_propagation");
    double commit = rp.path("commit_interval_ms").asDouble();
    if (r.has("rule_propagation")) {
      for (String path : List.of("early_emission", "window_close")) {
        JsonNode x = rp.path(path);
        double d99 = x.path("trial_decided_to_active_ms").path("p99").asDouble();
        b.append(String.format(Locale.ROOT, row, "rules (" + path.replace('_', ' ') + "): decided->ACTIVE",
            f0(x.path("trial_decided_to_active_ms").path("p50")) + "/" + f0(d99), "p50/p99 ms", "",
            goal(d99 <= commit + GOAL_PROPAGATION_SLACK_MS, "p99 <= commit " + f0(commit) + " + 100",
                commit + GOAL_PROPAGATION_SLACK_MS - d99)));
        b.append(String.format(Locale.ROOT, row, "rules (" + path.replace('_', ' ') + "): ->CANDIDATE",
            f0(x.path("to_candidate_ms").path("p50")) + "/" + f0(x.path("to_candidate_ms").path("p99")),
            "p50/p99 ms", "", "from " + x.path("from").asText() + "; ->ACTIVE p50 "
                + f0(x.path("to_active_ms").path("p50")) + " ms (n=" + x.path("rules").asInt() + ")"));
      }
    }

    for (JsonNode s : r.path("scaling")) {
      b.append(String.format(Locale.ROOT, row,
          "scaling: x" + s.path("instances_per_worker_role").asInt() + " instances tasks/s ("
              + s.path("succeeded").asInt() + "/" + s.path("tasks").asInt() + ")",
          f1(s.path("tasks_per_s")), f1(r.path("bare_tasks_per_s")) + " bare", f3(s.path("ratio").asDouble()),
          "CPU " + f0(s.path("cpu").path("tree_ms_per_task")) + " ms/task, load "
              + f1(s.path("cpu").path("load_average_1m"))));
    }
    if (r.has("work")) {
      b.append('\n').append("where fractal's CPU went in the work phase (ms, all its processes):\n");
      for (Iterator<Map.Entry<String, JsonNode>> it = p.path("cpu").path("tree_ms_by_process").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        b.append(String.format(Locale.ROOT, "  %-60s %8d%n", e.getKey(), e.getValue().asLong()));
      }
      b.append(String.format(Locale.ROOT, "  %-60s %8d%n", "machine-wide busy (everything, other sessions too)",
          p.path("cpu").path("machine_busy_ms").asLong()));
      b.append("busiest threads of the fractal JVM in the work phase (ms CPU):\n");
      int i = 0;
      for (Iterator<Map.Entry<String, JsonNode>> it = p.path("cpu").path("jvm_threads_ms").fields(); it.hasNext() && i < 10; i++) {
        Map.Entry<String, JsonNode> e = it.next();
        b.append(String.format(Locale.ROOT, "  %-60s %8d%n", e.getKey(), e.getValue().asLong()));
      }
    }
    JsonNode prof = r.path("profile");
    if (!prof.isMissingNode()) {
      for (JsonNode top : prof) {
        b.append(String.format(Locale.ROOT, "JFR %s: %d samples; top frames:%n", top.path("jvm").asText(),
            top.path("samples").asLong()));
        int k = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = top.path("by_top_frame").fields(); it.hasNext() && k < 8; k++) {
          Map.Entry<String, JsonNode> e = it.next();
          b.append(String.format(Locale.ROOT, "  %6d  %s%n", e.getValue().asLong(), e.getKey()));
        }
      }
    }
    JsonNode failures = r.path("failures");
    if (failures.isEmpty()) {
      b.append("every outcome checked: all as expected\n");
    } else {
      b.append("FAILED CHECKS:\n");
      failures.forEach(f -> b.append("  - ").append(f.asText()).append('\n'));
    }
    return b.toString();
  }

  private static String goal(boolean met, String what, double margin) {
    return (met ? "met     " : "MISSED  ") + what + (met ? "" : String.format(Locale.ROOT, " (by %.3g)", -margin));
  }

  private static String f0(JsonNode n) {
    return f0(n.asDouble());
  }

  private static String f0(double v) {
    return String.format(Locale.ROOT, "%.0f", v);
  }

  private static String f1(JsonNode n) {
    return String.format(Locale.ROOT, "%.1f", n.asDouble());
  }

  private static String f2(double v) {
    return String.format(Locale.ROOT, "%.2f", v);
  }

  private static String f3(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }

  /** The figures as bars: tasks/s, latency stages, hop ratios, scaling. */
  static String html(JsonNode r, String table) {
    StringBuilder h = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\">"
        + "<title>fractal bench</title><style>body{font:14px sans-serif;margin:24px}"
        + "pre{font-size:12px;background:#f6f6f6;padding:12px}h2{margin-top:28px}</style></head><body>"
        + "<h1>fractal bench</h1>");
    JsonNode w = r.path("work");
    h.append("<h2>Work: tasks/s</h2>").append(bars(List.of(
        new Bar("pipeline", w.path("pipeline").path("tasks_per_s").asDouble(), "#3b6fb6"),
        new Bar("bare python3", w.path("bare_tasks_per_s").asDouble(), "#999")), "tasks/s"));
    List<Bar> scaling = new ArrayList<>();
    for (JsonNode s : r.path("scaling")) {
      scaling.add(new Bar("x" + s.path("instances_per_worker_role").asInt(), s.path("ratio").asDouble(), "#3b6fb6"));
    }
    scaling.add(new Bar("goal", GOAL_WORK_RATIO, "#c33"));
    h.append("<h2>Scaling: work ratio by instances per worker role</h2>").append(bars(scaling, "ratio"));
    List<Bar> stages = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = r.path("latency").path("stages_ms_p50").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      stages.add(new Bar(e.getKey(), e.getValue().asDouble(), "#6a9f3a"));
    }
    stages.add(new Bar("bare run", r.path("latency").path("bare_run_ms").path("p50").asDouble(), "#999"));
    h.append("<h2>Latency of one idle task: p50 ms per stage</h2>").append(bars(stages, "ms"));
    List<Bar> hops = new ArrayList<>();
    for (JsonNode x : r.path("plumbing").path("hops_alone")) {
      String t = x.path("topic").asText().replace("fractal.", "");
      hops.add(new Bar(t + " alos", x.path("ratio_alos").asDouble(), "#b67a3b"));
      hops.add(new Bar(t + " eos", x.path("ratio_eos").asDouble(), "#7a3bb6"));
    }
    h.append("<h2>Plumbing: each hop alone, records/s over raw Kafka</h2>").append(bars(hops, "ratio"));
    h.append("<h2>Table</h2><pre>").append(escape(table)).append("</pre></body></html>\n");
    return h.toString();
  }

  private record Bar(String label, double value, String color) {
  }

  private static String bars(List<Bar> bars, String unit) {
    double max = bars.stream().mapToDouble(Bar::value).max().orElse(1);
    max = max <= 0 ? 1 : max;
    int rowH = 22;
    StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"%d\">", bars.size() * rowH + 10));
    for (int i = 0; i < bars.size(); i++) {
      Bar b = bars.get(i);
      double wd = Math.max(1, 440 * b.value() / max);
      int y = i * rowH + 5;
      s.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\" font-size=\"12\">%s</text>", y + 14, escape(b.label())));
      s.append(String.format(Locale.ROOT, "<rect x=\"200\" y=\"%d\" width=\"%.1f\" height=\"16\" fill=\"%s\"/>", y, wd, b.color()));
      s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\">%.3g %s</text>", 206 + wd, y + 13, b.value(), unit));
    }
    return s.append("</svg>").toString();
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
