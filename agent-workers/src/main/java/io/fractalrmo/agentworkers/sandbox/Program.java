package io.fractalrmo.agentworkers.sandbox;

import java.util.Objects;
import java.util.Set;

/**
 * What one sandboxed run executes, as parts the harness calls itself (never pasted together as
 * source text): the solution module, then — when given — the test code in the same module
 * namespace, then {@code check(<entry point>)} when the tests define a callable {@code check} and
 * an entry point is named. {@link SandboxResult#evidence()} says how far the harness proved the
 * run got.
 *
 * @param solution the solution's source (required)
 * @param tests test code run after the solution in its namespace; null or blank = none
 * @param entryPoint the name of the solution's function under test; must be a Python identifier
 *     (not a keyword) — it is looked up by name, never spliced into source
 */
public record Program(String solution, String tests, String entryPoint) {

  private static final Set<String> KEYWORDS = Set.of("False", "None", "True", "and", "as",
      "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
      "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
      "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield");

  public Program {
    Objects.requireNonNull(solution, "solution");
    if (tests != null && tests.isBlank()) {
      tests = null;
    }
    if (entryPoint != null && entryPoint.isBlank()) {
      entryPoint = null;
    }
    if (entryPoint != null && !isPythonIdentifier(entryPoint)) {
      throw new IllegalArgumentException("entry point is not a Python identifier: "
          + (entryPoint.length() > 80 ? entryPoint.substring(0, 80) + "…" : entryPoint));
    }
  }

  /** The solution alone: a run proves it when the module body ran to its end. */
  public static Program solutionOnly(String solution) {
    return new Program(solution, null, null);
  }

  /** Solution, then tests, then {@code check(entryPoint)} when the tests define check. */
  public static Program withTests(String solution, String tests, String entryPoint) {
    return new Program(solution, tests, entryPoint);
  }

  public boolean hasTests() {
    return tests != null;
  }

  /** An ASCII Python identifier that is not a keyword ({@code [A-Za-z_][A-Za-z0-9_]*}). */
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
}
