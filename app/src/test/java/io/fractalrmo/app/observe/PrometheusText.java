package io.fractalrmo.app.observe;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed Prometheus text exposition: each sample line {@code name{labels} value} as a key
 * (name and labels as written, labels sorted by the exporter) to its value. Comment lines are
 * checked for the {@code # TYPE} / {@code # HELP} form; a malformed line fails the parse.
 */
final class PrometheusText {

  private static final Pattern SAMPLE = Pattern.compile(
      "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\",?)*\\})?\\s+(\\S+)(\\s+\\d+)?");

  private final Map<String, Double> samples;

  private PrometheusText(Map<String, Double> samples) {
    this.samples = samples;
  }

  static PrometheusText parse(String text) {
    Map<String, Double> samples = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      if (line.startsWith("#")) {
        if (!line.matches("# (TYPE|HELP|EOF|UNIT).*")) {
          throw new IllegalArgumentException("malformed comment: " + line);
        }
        continue;
      }
      Matcher m = SAMPLE.matcher(line);
      if (!m.matches()) {
        throw new IllegalArgumentException("malformed sample: " + line);
      }
      String value = m.group(3);
      double v = switch (value) {
        case "+Inf" -> Double.POSITIVE_INFINITY;
        case "-Inf" -> Double.NEGATIVE_INFINITY;
        case "NaN" -> Double.NaN;
        default -> Double.parseDouble(value);
      };
      samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), v);
    }
    return new PrometheusText(samples);
  }

  Map<String, Double> samples() {
    return samples;
  }

  /** The sum of every sample of {@code name} whose labels contain all of {@code labels} (k="v"). */
  double sum(String name, String... labels) {
    double total = 0;
    for (Map.Entry<String, Double> e : samples.entrySet()) {
      String key = e.getKey();
      if (!(key.equals(name) || key.startsWith(name + "{"))) {
        continue;
      }
      boolean all = true;
      for (String label : labels) {
        all &= key.contains(label);
      }
      if (all) {
        total += e.getValue();
      }
    }
    return total;
  }

  boolean has(String name, String... labels) {
    return samples.keySet().stream().anyMatch(k -> (k.equals(name) || k.startsWith(name + "{"))
        && java.util.Arrays.stream(labels).allMatch(k::contains));
  }

  long countWithPrefix(String prefix) {
    return samples.keySet().stream().filter(k -> k.startsWith(prefix)).count();
  }
}
