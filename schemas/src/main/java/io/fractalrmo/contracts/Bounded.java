package io.fractalrmo.contracts;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Bounds for every string that untrusted code (or an untrusted submitter) can influence before it
 * enters a record: error types, messages, tracebacks, captured output, finding descriptions,
 * check details. A bounded string keeps its head (a traceback its tail, where the raising line
 * is) and says how much was cut, so a reader knows it is not whole.
 */
public final class Bounded {

  /** An exception class name as reported by the program. */
  public static final int ERROR_TYPE_CHARS = 128;
  /** An exception message, a check's details, an alert's message. */
  public static final int MESSAGE_CHARS = 2_000;
  /** A traceback (its tail is kept). */
  public static final int TRACEBACK_CHARS = 8_000;
  /** A finding's machine-readable type. */
  public static final int FINDING_TYPE_CHARS = 64;
  /** A finding's description (analyzers quote the code's names and literals in it). */
  public static final int FINDING_DESCRIPTION_CHARS = 500;
  /** Findings kept per analysis, per action and per result. */
  public static final int MAX_FINDINGS = 64;
  /** Type of the summary finding that stands for findings left out. */
  public static final String FINDINGS_TRUNCATED = "FINDINGS_TRUNCATED";

  private Bounded() {
  }

  /** {@code s} cut to at most {@code maxChars} characters (head kept); null stays null. */
  public static String text(String s, int maxChars) {
    if (s == null || s.length() <= maxChars) {
      return s;
    }
    String note = "… [" + (s.length() - maxChars) + " more chars cut]";
    int keep = Math.max(0, maxChars - note.length());
    return safeHead(s, keep) + note;
  }

  /** {@code s} cut to at most {@code maxChars} characters, keeping its tail; null stays null. */
  public static String tail(String s, int maxChars) {
    if (s == null || s.length() <= maxChars) {
      return s;
    }
    String note = "[" + (s.length() - maxChars) + " earlier chars cut] …";
    int keep = Math.max(0, maxChars - note.length());
    int from = s.length() - keep;
    if (from > 0 && from < s.length() && Character.isLowSurrogate(s.charAt(from))) {
      from++;
    }
    return note + s.substring(from);
  }

  /** {@code s} cut to at most {@code maxBytes} bytes of UTF-8, at a character boundary. */
  public static String utf8(String s, int maxBytes) {
    if (s == null || s.length() <= maxBytes / 4) {
      return s;
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length <= maxBytes) {
      return s;
    }
    int end = Math.max(0, maxBytes);
    while (end > 0 && (b[end] & 0xC0) == 0x80) {
      end--; // not inside a multi-byte sequence
    }
    return new String(b, 0, end, StandardCharsets.UTF_8);
  }

  /** Size of {@code s} in UTF-8 bytes (0 for null). */
  public static long utf8Length(String s) {
    if (s == null) {
      return 0;
    }
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** An error with its type, message and traceback bounded; null stays null. */
  public static ErrorDetail error(ErrorDetail e) {
    if (e == null) {
      return null;
    }
    return ErrorDetail.newBuilder(e)
        .setType(text(e.getType() == null ? "" : e.getType(), ERROR_TYPE_CHARS))
        .setMessage(text(e.getMessage() == null ? "" : e.getMessage(), MESSAGE_CHARS))
        .setTraceback(tail(e.getTraceback(), TRACEBACK_CHARS))
        .build();
  }

  /** A finding with its type and description bounded. */
  public static Finding finding(Finding f) {
    String type = f.getType() == null ? "" : f.getType();
    String description = f.getDescription() == null ? "" : f.getDescription();
    if (type.length() <= FINDING_TYPE_CHARS && description.length() <= FINDING_DESCRIPTION_CHARS) {
      return f;
    }
    return Finding.newBuilder(f).setType(text(type, FINDING_TYPE_CHARS))
        .setDescription(text(description, FINDING_DESCRIPTION_CHARS)).build();
  }

  /**
   * At most {@link #MAX_FINDINGS} findings, each bounded. When there are more, the blocking and
   * most severe ones are kept (in their original order) and one {@link #FINDINGS_TRUNCATED}
   * finding says how many were left out.
   */
  public static List<Finding> findings(List<Finding> findings) {
    if (findings.size() <= MAX_FINDINGS) {
      boolean bounded = findings.stream().allMatch(f -> finding(f) == f);
      return bounded ? findings : findings.stream().map(Bounded::finding).toList();
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < findings.size(); i++) {
      order.add(i);
    }
    order.sort(Comparator.<Integer>comparingInt(i -> findings.get(i).getBlocking() ? 0 : 1)
        .thenComparing(i -> -findings.get(i).getSeverity().ordinal())
        .thenComparingInt(i -> i));
    List<Integer> kept = new ArrayList<>(order.subList(0, MAX_FINDINGS - 1));
    kept.sort(Comparator.naturalOrder());
    List<Finding> out = new ArrayList<>();
    for (int i : kept) {
      out.add(finding(findings.get(i)));
    }
    int left = findings.size() - kept.size();
    out.add(Finding.newBuilder().setType(FINDINGS_TRUNCATED).setSeverity(Severity.INFO)
        .setLine(null).setAspect(Aspect.UNKNOWN).setBlocking(false)
        .setDescription(left + " more finding(s) not listed (at most " + MAX_FINDINGS
            + " are kept per record; the blocking and most severe ones first)")
        .build());
    return out;
  }

  private static String safeHead(String s, int keep) {
    int end = Math.min(keep, s.length());
    if (end > 0 && Character.isHighSurrogate(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(0, end);
  }
}
