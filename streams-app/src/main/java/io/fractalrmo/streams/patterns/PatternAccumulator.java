package io.fractalrmo.streams.patterns;

import io.fractalrmo.contracts.ErrorEvent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The events of one pattern key in one window, as far as a pattern needs them: the count, up to
 * three examples (distinct actions first), and how often each normalised message occurred
 * (at most {@link #MAX_MESSAGES} distinct ones; the rest are counted as "other"), which gives
 * the consistency of the examples — for a category whose fix ignores the message (SYNTAX), the
 * error type stands for the message. Immutable; kept as JSON in the window store.
 */
public record PatternAccumulator(String category, String errorType, String fixKey, long count,
    List<Example> examples, Map<String, Long> messageCounts, long otherMessages) {

  static final int MAX_EXAMPLES = 3;
  static final int MAX_MESSAGES = 8;
  private static final Pattern QUOTED = Pattern.compile("'[^']*'|\"[^\"]*\"");
  private static final Pattern NUMBER = Pattern.compile("0x[0-9a-fA-F]+|\\d+(\\.\\d+)?");

  /** One event quoted as evidence. */
  public record Example(String errorId, String taskId, String actionId, String message,
      long occurredAt) {
  }

  public static PatternAccumulator empty() {
    return new PatternAccumulator(null, null, null, 0, List.of(), Map.of(), 0);
  }

  public PatternAccumulator add(ErrorEvent e) {
    List<Example> ex = new ArrayList<>(examples);
    boolean newAction = ex.stream().noneMatch(x -> x.actionId() != null
        && x.actionId().equals(e.getActionId()));
    if (ex.size() < MAX_EXAMPLES && newAction) {
      ex.add(new Example(e.getErrorId(), e.getTaskId(), e.getActionId(), e.getMessage(),
          e.getOccurredAt().toEpochMilli()));
    }
    Map<String, Long> messages = new LinkedHashMap<>(messageCounts);
    long other = otherMessages;
    // a syntax error's fix (compile first, fail fast) is the same whatever the parser said, so
    // its messages ("expected ':'", "'(' was never closed") do not make the pattern less
    // consistent
    String normal = FixCatalog.fixIgnoresMessage(e.getCategory()) ? e.getErrorType()
        : normalise(e.getMessage());
    if (messages.containsKey(normal) || messages.size() < MAX_MESSAGES) {
      messages.merge(normal, 1L, Long::sum);
    } else {
      other++;
    }
    return new PatternAccumulator(e.getCategory().name(), e.getErrorType(), e.getFixKey(),
        count + 1, List.copyOf(ex), messages, other);
  }

  /** Share of the events carrying the most common normalised message (1 = all alike). */
  public double consistency() {
    if (count == 0) {
      return 0;
    }
    long top = messageCounts.values().stream().mapToLong(Long::longValue).max().orElse(0);
    return (double) top / count;
  }

  public double confidence() {
    return Confidence.of(count, consistency());
  }

  /** Message with quoted parts, numbers and addresses blanked, so alike errors compare equal. */
  static String normalise(String message) {
    if (message == null) {
      return "";
    }
    String m = QUOTED.matcher(message).replaceAll("'_'");
    m = NUMBER.matcher(m).replaceAll("0").replaceAll("\\s+", " ").trim();
    return m.length() > 200 ? m.substring(0, 200) : m;
  }
}
