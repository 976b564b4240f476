package io.fractalrmo.app.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/** Renders the demo's error rate over time as one HTML page with an inline SVG (no external assets). */
final class ErrorRateChart {

  private static final int WIDTH = 900;
  private static final int HEIGHT = 360;
  private static final int LEFT = 60;
  private static final int RIGHT = 20;
  private static final int TOP = 30;
  private static final int BOTTOM = 50;

  private record Series(String name, String colour, Predicate<DemoTask> which) {
  }

  private ErrorRateChart() {
  }

  static String render(DemoReport report, DemoPlan plan, long startMs, long endMs,
      List<DemoReport.Wave> waves, List<RuleView> rules, String table) {
    double durationS = Math.max(1, (endMs - startMs) / 1000.0);
    double bucketS = Math.max(2, durationS / 24);
    int buckets = (int) Math.ceil(durationS / bucketS);
    List<Series> series = List.of(
        new Series("fixable faults (missing import, slow)", "#d9480f",
            t -> t.fault().faultClass() == Fault.FaultClass.FIXABLE
                && t.arm() != DemoTask.Arm.RULES_OFF),
        new Series("fixable faults, wave 2 with fractal.rules=off", "#f59f00",
            t -> t.fault().faultClass() == Fault.FaultClass.FIXABLE
                && t.arm() == DemoTask.Arm.RULES_OFF),
        new Series("wrong results (unfixable)", "#5f3dc4",
            t -> t.fault().faultClass() == Fault.FaultClass.UNFIXABLE),
        new Series("canonical solutions", "#2b8a3e", t -> t.fault() == Fault.NONE));
    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            + "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT));
    // axes and grid
    for (int pct = 0; pct <= 100; pct += 25) {
      double y = y(pct / 100.0);
      svg.append(String.format(Locale.ROOT,
          "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
              + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>%n",
          LEFT, y, WIDTH - RIGHT, y, LEFT - 6, y + 4, pct));
    }
    int step = (int) Math.max(10, Math.ceil(durationS / 10 / 10) * 10);
    for (int s = 0; s <= durationS; s += step) {
      double x = x(s, durationS);
      svg.append(String.format(Locale.ROOT,
          "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%ds</text>%n", x,
          HEIGHT - BOTTOM + 18, s));
    }
    svg.append(String.format(Locale.ROOT,
        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>%n", LEFT,
        HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM));
    svg.append(String.format(Locale.ROOT,
        "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time since start (tasks by the time "
            + "they finished, %.0f s buckets)</text>%n", (WIDTH + LEFT) / 2, HEIGHT - 12,
        bucketS));
    // wave starts
    for (DemoReport.Wave w : waves) {
      double x = x((w.startMs() - startMs) / 1000.0, durationS);
      svg.append(String.format(Locale.ROOT,
          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#868e96\" "
              + "stroke-dasharray=\"2,3\"/><text x=\"%.1f\" y=\"%d\" fill=\"#495057\">"
              + "wave %d</text>%n",
          x, TOP, x, HEIGHT - BOTTOM, x + 3, TOP - 8, w.wave()));
    }
    // rule activations
    int label = 0;
    for (RuleView r : rules) {
      if (r.activatedAtMs() <= 0) {
        continue;
      }
      double x = x((r.activatedAtMs() - startMs) / 1000.0, durationS);
      svg.append(String.format(Locale.ROOT,
          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#1971c2\" "
              + "stroke-dasharray=\"6,4\"/><text x=\"%.1f\" y=\"%d\" fill=\"#1971c2\">"
              + "%s ACTIVE</text>%n",
          x, TOP, x, HEIGHT - BOTTOM, x + 3, TOP + 14 + 14 * (label++ % 4),
          escape(r.action())));
    }
    // series
    int legend = 0;
    for (Series s : series) {
      List<String> points = new ArrayList<>();
      for (int i = 0; i < buckets; i++) {
        long from = startMs + Math.round(i * bucketS * 1000);
        long to = startMs + Math.round((i + 1) * bucketS * 1000);
        int total = 0;
        int errors = 0;
        for (DemoTask t : plan.all()) {
          TaskOutcome o = report.outcomeOf(t);
          if (s.which().test(t) && o.finished() && o.finishedAtMs() >= from
              && o.finishedAtMs() < to) {
            total++;
            errors += o.succeeded() ? 0 : 1;
          }
        }
        if (total > 0) {
          points.add(String.format(Locale.ROOT, "%.1f,%.1f",
              x((i + 0.5) * bucketS, durationS), y((double) errors / total)));
        }
      }
      if (!points.isEmpty()) {
        svg.append(String.format(Locale.ROOT,
            "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n",
            s.colour(), String.join(" ", points)));
        for (String p : points) {
          String[] xy = p.split(",");
          svg.append(String.format(Locale.ROOT,
              "<circle cx=\"%s\" cy=\"%s\" r=\"3\" fill=\"%s\"/>%n", xy[0], xy[1], s.colour()));
        }
      }
      svg.append(String.format(Locale.ROOT,
          "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/>"
              + "<text x=\"%d\" y=\"%d\">%s</text>%n",
          WIDTH - RIGHT - 260, TOP + 60 + 16 * legend, s.colour(), WIDTH - RIGHT - 242,
          TOP + 64 + 16 * legend, escape(s.name())));
      legend++;
    }
    svg.append("</svg>\n");
    return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Fractal-RMO demo report</title>
        <style>body{font-family:sans-serif;margin:2em}pre{background:#f8f9fa;padding:1em}</style>
        </head><body>
        <h1>Fractal-RMO demo: error rate over time</h1>
        <p>Share of tasks that failed, by the time they finished; dashed blue lines mark the moment
        a protocol rule became ACTIVE, grey dotted lines the start of each wave. Wave 2 runs the
        same tasks twice at the same time, with rules off (amber) and on (red).</p>
        %s
        <h2>Figures</h2>
        <pre>%s</pre>
        </body></html>
        """.formatted(svg, escape(table));
  }

  private static double x(double seconds, double durationS) {
    return LEFT + (WIDTH - LEFT - RIGHT) * Math.max(0, Math.min(1, seconds / durationS));
  }

  private static double y(double rate) {
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - rate);
  }

  private static String escape(String s) {
    return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
