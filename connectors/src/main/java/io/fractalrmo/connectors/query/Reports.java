package io.fractalrmo.connectors.query;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Plain-text renderings of {@link RecordQueries} answers, as {@code fractal status/rules} print them. */
public final class Reports {

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private Reports() {
  }

  public static String history(RecordQueries.TaskHistory h) {
    StringBuilder out = new StringBuilder();
    out.append("task ").append(h.taskId()).append(": ")
        .append(h.state().orElse("(no status yet)")).append('\n');
    h.description().ifPresent(d -> out.append("  ").append(RecordQueries.abbreviate(d, 100))
        .append('\n'));
    h.failure().ifPresent(f -> out.append("  failure: ").append(f).append('\n'));
    for (RecordQueries.Event e : h.events()) {
      out.append(String.format(Locale.ROOT, "  %s  %-10s %s%n", time(e.at()), e.kind(),
          e.detail()));
    }
    return out.toString();
  }

  public static String summary(RecordQueries.Summary s) {
    StringBuilder out = new StringBuilder();
    long total = s.byState().values().stream().mapToLong(Long::longValue).sum();
    out.append("tasks updated since ").append(time(s.since())).append(": ").append(total)
        .append('\n');
    for (Map.Entry<String, Long> e : s.byState().entrySet()) {
      out.append(String.format(Locale.ROOT, "  %-11s %6d%n", e.getKey(), e.getValue()));
    }
    if (!s.recent().isEmpty()) {
      out.append("latest:\n");
      for (RecordQueries.RecentTask t : s.recent()) {
        out.append(String.format(Locale.ROOT, "  %s  %-10s %s%s%n", time(t.updatedAt()),
            t.state(), t.taskId(), t.failure().map(f -> "  (" + f + ")").orElse("")));
      }
    }
    return out.toString();
  }

  public static String rules(List<RecordQueries.RuleRow> rules, boolean all) {
    if (rules.isEmpty()) {
      return all ? "no protocol rules recorded yet\n" : "no live protocol rules (try --all)\n";
    }
    StringBuilder out = new StringBuilder();
    for (RecordQueries.RuleRow r : rules) {
      out.append(String.format(Locale.ROOT, "%s v%d  %s%s  %s when %s  confidence %.2f%n",
          r.ruleId(), r.version(), r.status(), r.tombstoned() ? " (tombstoned)" : "",
          r.actionKind(), r.condition(), r.confidence()));
      out.append("  ").append(r.description()).append('\n');
      out.append(String.format(Locale.ROOT, "  evidence: %s seen %d times in %s .. %s%n",
          r.evidencePatternKey(), r.evidenceFrequency(), time(r.windowStart()),
          time(r.windowEnd())));
      r.trial().ifPresent(t -> out.append(String.format(Locale.ROOT,
          "  trial %s: n=%d, error rate %.0f%% -> %.0f%%, mean %.0f ms -> %.0f ms%s%n",
          t.trialId(), t.sampleSize(), 100 * t.errorRateWithout(), 100 * t.errorRateWith(),
          t.meanMsWithout(), t.meanMsWith(),
          t.verdict().isEmpty() ? "" : " (" + t.verdict() + ")")));
      r.statusReason().ifPresent(reason -> out.append("  status: ").append(reason).append('\n'));
      out.append("  updated ").append(time(r.updatedAt())).append('\n');
    }
    return out.toString();
  }

  private static String time(Instant at) {
    return TIME.format(at);
  }
}
