package io.fractalrmo.contracts;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The operator's maxima on what one task may ask for, and the input contract of a task and of an
 * action item — checked at plan time and again by the executor and the validator (action items
 * may come from other producers). A request above a maximum for time or memory is clipped (and the
 * clip recorded); a task or action that breaks the contract (entry point not a Python identifier,
 * code or tests over their size, an unknown language, a priority or level out of range...) is
 * rejected with the reasons, before anything runs.
 *
 * <p>The defaults keep a real task's records well below Kafka's default 1 MB message size: an
 * ExecutionResult carries the code twice (as run and in its action), the tests, both captured
 * streams, at most {@link Bounded#MAX_FINDINGS} bounded findings twice and the attributes; its
 * worst case is 492 KiB with the defaults (less than half the broker's limit) and 700 KiB with
 * every limit at the top of its range ({@code InputContractTest} serializes both and checks).
 *
 * @param maxTimeLimitMs the longest time limit an action runs with; longer requests are clipped
 * @param maxMemoryMb the largest memory limit; larger requests are clipped
 * @param maxCodeBytes the largest solution code, UTF-8 bytes
 * @param maxTestCodeBytes the largest test code, UTF-8 bytes
 * @param maxDescriptionBytes the largest description (the prompt when code must be generated)
 * @param maxOutputBytes captured stdout and stderr kept per stream
 * @param maxProcesses processes/threads one run may have
 */
public record InputLimits(long maxTimeLimitMs, int maxMemoryMb, int maxCodeBytes,
    int maxTestCodeBytes, int maxDescriptionBytes, int maxOutputBytes, int maxProcesses) {

  /** A broken contract: a short key (e.g. {@code entry-point}) and what is wrong, for a person. */
  public record Violation(String contract, String reason) {
    @Override
    public String toString() {
      return contract + ": " + reason;
    }
  }

  /**
   * One operator setting ({@code --set key=value}), declared once: key, default, allowed range.
   */
  public record Setting(String key, long defaultValue, long min, long max, String doc) {}

  public static final Setting MAX_TIME_LIMIT_MS = new Setting("limits.max-time-limit-ms", 60_000,
      100, 3_600_000, "longest time limit an action runs with; a task asking more is clipped to it");
  public static final Setting MAX_MEMORY_MB = new Setting("limits.max-memory-mb", 1_024, 32,
      65_536, "largest memory (address space) limit; a task asking more is clipped to it");
  public static final Setting MAX_CODE_BYTES = new Setting("limits.max-code-bytes", 64 * 1024,
      1, 128 * 1024, "largest solution code (UTF-8 bytes); a task with more is REJECTED");
  public static final Setting MAX_TEST_CODE_BYTES = new Setting("limits.max-test-code-bytes",
      64 * 1024, 1, 128 * 1024, "largest test code (UTF-8 bytes); a task with more is REJECTED");
  public static final Setting MAX_DESCRIPTION_BYTES = new Setting("limits.max-description-bytes",
      16 * 1024, 1, 32 * 1024, "largest description/prompt (UTF-8 bytes); more is REJECTED");
  public static final Setting MAX_OUTPUT_BYTES = new Setting("limits.max-output-bytes", 64 * 1024,
      0, 64 * 1024, "captured stdout and stderr kept per stream (the rest is counted, not kept)");
  public static final Setting MAX_PROCESSES = new Setting("limits.max-processes", 64, 1, 1_024,
      "processes and threads one run may have");

  /** Every setting, in one place (keys, defaults, ranges, docs). */
  public static final List<Setting> SETTINGS = List.of(MAX_TIME_LIMIT_MS, MAX_MEMORY_MB,
      MAX_CODE_BYTES, MAX_TEST_CODE_BYTES, MAX_DESCRIPTION_BYTES, MAX_OUTPUT_BYTES, MAX_PROCESSES);

  /** Fixed bounds of the contract (not operator settings). */
  public static final int MAX_TASK_ID_BYTES = 256;
  public static final int MAX_ATTRIBUTES = 64;
  public static final int MAX_ATTRIBUTE_KEY_BYTES = 128;
  public static final int MAX_ATTRIBUTE_VALUE_BYTES = 1_024;

  private static final Set<String> KEYWORDS = Set.of("False", "None", "True", "and", "as",
      "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
      "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
      "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield");

  public InputLimits {
    check(MAX_TIME_LIMIT_MS, maxTimeLimitMs);
    check(MAX_MEMORY_MB, maxMemoryMb);
    check(MAX_CODE_BYTES, maxCodeBytes);
    check(MAX_TEST_CODE_BYTES, maxTestCodeBytes);
    check(MAX_DESCRIPTION_BYTES, maxDescriptionBytes);
    check(MAX_OUTPUT_BYTES, maxOutputBytes);
    check(MAX_PROCESSES, maxProcesses);
  }

  public static InputLimits defaults() {
    return fromSettings(Map.of());
  }

  /**
   * The limits from role settings: each {@link #SETTINGS} key, else its default. An unknown
   * {@code limits.*} key or a value out of range is an error (a typo must not leave a limit at
   * its default unnoticed).
   */
  public static InputLimits fromSettings(Map<String, String> settings) {
    for (String key : settings.keySet()) {
      if (key.startsWith("limits.") && SETTINGS.stream().noneMatch(s -> s.key().equals(key))) {
        throw new IllegalArgumentException("unknown setting " + key + "; known: "
            + SETTINGS.stream().map(Setting::key).toList());
      }
    }
    return new InputLimits(value(settings, MAX_TIME_LIMIT_MS),
        (int) value(settings, MAX_MEMORY_MB), (int) value(settings, MAX_CODE_BYTES),
        (int) value(settings, MAX_TEST_CODE_BYTES), (int) value(settings, MAX_DESCRIPTION_BYTES),
        (int) value(settings, MAX_OUTPUT_BYTES), (int) value(settings, MAX_PROCESSES));
  }

  public InputLimits withMaxTimeLimitMs(long ms) {
    return new InputLimits(ms, maxMemoryMb, maxCodeBytes, maxTestCodeBytes, maxDescriptionBytes,
        maxOutputBytes, maxProcesses);
  }

  /** These limits as settings (key → value), e.g. to hand the same limits to every role. */
  public Map<String, String> asSettings() {
    return Map.of(MAX_TIME_LIMIT_MS.key(), Long.toString(maxTimeLimitMs),
        MAX_MEMORY_MB.key(), Integer.toString(maxMemoryMb),
        MAX_CODE_BYTES.key(), Integer.toString(maxCodeBytes),
        MAX_TEST_CODE_BYTES.key(), Integer.toString(maxTestCodeBytes),
        MAX_DESCRIPTION_BYTES.key(), Integer.toString(maxDescriptionBytes),
        MAX_OUTPUT_BYTES.key(), Integer.toString(maxOutputBytes),
        MAX_PROCESSES.key(), Integer.toString(maxProcesses));
  }

  /** The time limit an action gets for a request of {@code requestedMs}. */
  public long clipTimeLimit(long requestedMs) {
    return Math.min(requestedMs, maxTimeLimitMs);
  }

  public int clipMemory(int requestedMb) {
    return Math.min(requestedMb, maxMemoryMb);
  }

  /** The note recorded when a time limit was clipped. */
  public String timeClipNote(long requestedMs) {
    return "time limit " + requestedMs + " ms clipped to " + maxTimeLimitMs + " ms ("
        + MAX_TIME_LIMIT_MS.key() + ")";
  }

  public String memoryClipNote(int requestedMb) {
    return "memory limit " + requestedMb + " MB clipped to " + maxMemoryMb + " MB ("
        + MAX_MEMORY_MB.key() + ")";
  }

  /** How {@code task} breaks the input contract; empty when it does not. */
  public List<Violation> violations(Task task) {
    List<Violation> v = new ArrayList<>();
    String id = task.getTaskId();
    if (id == null || id.isBlank()) {
      v.add(new Violation("task-id", "the task id is empty"));
    } else if (Bounded.utf8Length(id) > MAX_TASK_ID_BYTES) {
      v.add(new Violation("task-id", "the task id has " + Bounded.utf8Length(id)
          + " bytes, more than " + MAX_TASK_ID_BYTES));
    }
    if (task.getLanguage() != Language.PYTHON) {
      v.add(new Violation("language", "language " + task.getLanguage()
          + " is not supported (only PYTHON)"));
    }
    if (task.getPriority() < 1 || task.getPriority() > 5) {
      v.add(new Violation("priority", "priority " + task.getPriority()
          + " is outside 1 (highest) … 5"));
    }
    if (task.getValidationLevel() < 1 || task.getValidationLevel() > 4) {
      v.add(new Violation("validation-level", "validation level " + task.getValidationLevel()
          + " is outside 1 (syntax) … 4 (performance)"));
    }
    if (task.getTimeLimitMs() < 0) {
      v.add(new Violation("time-limit", "time limit " + task.getTimeLimitMs()
          + " ms is negative (0 means the default)"));
    }
    if (task.getMemoryLimitMb() != null && task.getMemoryLimitMb() < 1) {
      v.add(new Violation("memory-limit", "memory limit " + task.getMemoryLimitMb()
          + " MB must be at least 1"));
    }
    entryPoint(task.getEntryPoint(), v);
    size("code-size", "code", task.getCode(), maxCodeBytes, MAX_CODE_BYTES, v);
    size("test-code-size", "test code", task.getTestCode(), maxTestCodeBytes,
        MAX_TEST_CODE_BYTES, v);
    size("description-size", "description", task.getDescription(), maxDescriptionBytes,
        MAX_DESCRIPTION_BYTES, v);
    attributes(task.getAttributes(), v);
    return v;
  }

  /**
   * How {@code action} breaks the contract an executor relies on; empty when it does not. Too
   * large a time or memory limit is not a violation: it is clipped.
   */
  public List<Violation> violations(ActionItem action) {
    List<Violation> v = new ArrayList<>();
    if (action.getType() == null || action.getType() == ActionType.UNKNOWN) {
      v.add(new Violation("action-type", "action type " + action.getType() + " is not known"));
    }
    ExecutionInput in = action.getInput();
    if (in == null) {
      v.add(new Violation("input", "the action has no input"));
    } else {
      entryPoint(in.getEntryPoint(), v);
      size("code-size", "code", in.getCode(), maxCodeBytes, MAX_CODE_BYTES, v);
      size("test-code-size", "test code", in.getTestCode(), maxTestCodeBytes,
          MAX_TEST_CODE_BYTES, v);
      size("description-size", "prompt", in.getPrompt(), maxDescriptionBytes,
          MAX_DESCRIPTION_BYTES, v);
    }
    ExecutionConstraints c = action.getConstraints();
    if (c == null) {
      v.add(new Violation("constraints", "the action has no constraints"));
    } else {
      if (c.getTimeoutMs() <= 0) {
        v.add(new Violation("time-limit", "timeout " + c.getTimeoutMs() + " ms must be positive"));
      }
      if (c.getMemoryMb() < 1) {
        v.add(new Violation("memory-limit", "memory limit " + c.getMemoryMb()
            + " MB must be at least 1"));
      }
      if (c.getMaxProcesses() < 1) {
        v.add(new Violation("processes", "max processes " + c.getMaxProcesses()
            + " must be at least 1"));
      }
      if (c.getMaxOutputBytes() < 0) {
        v.add(new Violation("output", "max output " + c.getMaxOutputBytes()
            + " bytes must not be negative"));
      }
      if (c.getNetworkAllowed()) {
        v.add(new Violation("network", "the action asks for network access, which task code "
            + "never gets"));
      }
    }
    attributes(action.getAttributes(), v);
    return v;
  }

  /** An ASCII Python identifier that is not a keyword (as {@code sandbox.Program} requires). */
  public static boolean isPythonIdentifier(String s) {
    if (s == null || s.isEmpty() || s.length() > 255 || KEYWORDS.contains(s)) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (i > 0 && c >= '0' && c <= '9');
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private static void entryPoint(String entry, List<Violation> v) {
    if (entry != null && !entry.isBlank() && !isPythonIdentifier(entry)) {
      v.add(new Violation("entry-point", "entry point '" + Bounded.text(entry, 80)
          + "' is not a Python identifier (letters, digits, underscores; not a keyword)"));
    }
  }

  private static void size(String contract, String what, String text, int max, Setting setting,
      List<Violation> v) {
    long n = Bounded.utf8Length(text);
    if (n > max) {
      v.add(new Violation(contract, what + " of " + n + " bytes exceeds " + max + " bytes ("
          + setting.key() + ")"));
    }
  }

  private static void attributes(Map<String, String> attributes, List<Violation> v) {
    if (attributes == null) {
      return;
    }
    if (attributes.size() > MAX_ATTRIBUTES) {
      v.add(new Violation("attributes", attributes.size() + " attributes, more than "
          + MAX_ATTRIBUTES));
      return;
    }
    for (Map.Entry<String, String> e : attributes.entrySet()) {
      if (Bounded.utf8Length(e.getKey()) > MAX_ATTRIBUTE_KEY_BYTES
          || Bounded.utf8Length(e.getValue()) > MAX_ATTRIBUTE_VALUE_BYTES) {
        v.add(new Violation("attributes", "attribute '" + Bounded.text(e.getKey(), 40)
            + "' is larger than " + MAX_ATTRIBUTE_KEY_BYTES + " bytes of key or "
            + MAX_ATTRIBUTE_VALUE_BYTES + " bytes of value"));
        return;
      }
    }
  }

  private static void check(Setting s, long value) {
    if (value < s.min() || value > s.max()) {
      throw new IllegalArgumentException(s.key() + " must be in [" + s.min() + ", " + s.max()
          + "], was " + value);
    }
  }

  private static long value(Map<String, String> settings, Setting s) {
    String raw = settings.get(s.key());
    if (raw == null || raw.isBlank()) {
      return s.defaultValue();
    }
    try {
      return Long.parseLong(raw.strip().replace("_", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(s.key() + " must be a whole number, was '" + raw + "'");
    }
  }
}
