package io.fractalrmo.agentworkers.errors;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper.PythonNames;
import io.fractalrmo.agentworkers.sandbox.PythonError;
import io.fractalrmo.contracts.ErrorCategory;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decides the category of a failure from the exception type AND its context: a NameError is a
 * DEPENDENCY problem when the missing name is a standard-library module or a {@code typing} name
 * (fix key = that module), otherwise a RUNTIME one; a timeout is PERFORMANCE whatever exception
 * the timeout interrupted; a blocked security finding is SECURITY.
 *
 * <p>Order: timeout → PERFORMANCE; SyntaxError/IndentationError/TabError → SYNTAX;
 * AssertionError, SystemExit and an early exit (EarlyExit) → LOGIC; SandboxUnavailable →
 * DEPENDENCY (fix key {@code sandbox}); NameError of a module/typing name, ModuleNotFoundError,
 * ImportError → DEPENDENCY; any other exception → RUNTIME; no exception type → UNKNOWN.
 */
public final class ErrorCategorizer {

  public static final String TIMEOUT_ERROR = "TimeoutError";
  public static final String SECURITY_BLOCKED = "SecurityBlocked";
  public static final String MODEL_BACKEND_UNAVAILABLE = "ModelBackendUnavailable";
  /** The program ended before the harness saw it finish (an early exit with any status). */
  public static final String EARLY_EXIT = "EarlyExit";
  /** The sandbox refused to run anything (no confining layer works here). */
  public static final String SANDBOX_UNAVAILABLE = io.fractalrmo.agentworkers.sandbox.SandboxResult.REFUSED;

  private static final Set<String> SYNTAX_TYPES = Set.of("SyntaxError", "IndentationError", "TabError");
  private static final Pattern NAME_ERROR = Pattern.compile("name '([A-Za-z_][A-Za-z0-9_]*)' is not defined");
  private static final Pattern NO_MODULE = Pattern.compile("No module named '([^']+)'");
  private static final Pattern CANNOT_IMPORT = Pattern.compile("cannot import name '([^']+)' from '([^']+)'");

  private final PythonNames names;

  public ErrorCategorizer(PythonNames names) {
    this.names = names;
  }

  /** A Python failure reported by the sandbox. */
  public Categorized categorize(PythonError error, boolean timedOut) {
    if (timedOut) {
      return new Categorized(ErrorCategory.PERFORMANCE, TIMEOUT_ERROR, "timeout");
    }
    if (error == null || error.type() == null || error.type().isBlank()) {
      return new Categorized(ErrorCategory.UNKNOWN, "Unknown", null);
    }
    String type = error.type();
    String message = error.message() == null ? "" : error.message();
    if (SYNTAX_TYPES.contains(type)) {
      return new Categorized(ErrorCategory.SYNTAX, type, null);
    }
    if ("AssertionError".equals(type)) {
      return new Categorized(ErrorCategory.LOGIC, type, null);
    }
    if (EARLY_EXIT.equals(type) || "SystemExit".equals(type)) {
      // ending the process before the tests finish (a model's way to "pass" them) is a wrong
      // program, and what a PROMPT_GUIDELINE can teach a model not to write
      return new Categorized(ErrorCategory.LOGIC, type, null);
    }
    if (SANDBOX_UNAVAILABLE.equals(type)) {
      return new Categorized(ErrorCategory.DEPENDENCY, type, "sandbox");
    }
    if ("NameError".equals(type)) {
      Optional<String> missing = missingName(message);
      Optional<String> module = missing.flatMap(names::moduleProviding);
      if (module.isPresent()) {
        return new Categorized(ErrorCategory.DEPENDENCY, type, module.get());
      }
      return new Categorized(ErrorCategory.RUNTIME, type, missing.orElse(null));
    }
    if ("ModuleNotFoundError".equals(type) || "ImportError".equals(type)) {
      Matcher m = NO_MODULE.matcher(message);
      String module = null;
      if (m.find()) {
        module = m.group(1).split("\\.")[0];
      } else {
        Matcher c = CANNOT_IMPORT.matcher(message);
        if (c.find()) {
          module = c.group(2).split("\\.")[0];
        }
      }
      return new Categorized(ErrorCategory.DEPENDENCY, type, module);
    }
    if (TIMEOUT_ERROR.equals(type) && message.contains("limit")) {
      return new Categorized(ErrorCategory.PERFORMANCE, TIMEOUT_ERROR, "timeout");
    }
    return new Categorized(ErrorCategory.RUNTIME, type, null);
  }

  /** Execution refused because of a blocking security finding (finding type as fix key). */
  public Categorized securityBlocked(String findingType) {
    return new Categorized(ErrorCategory.SECURITY, SECURITY_BLOCKED, findingType);
  }

  public Categorized modelBackendUnavailable() {
    return new Categorized(ErrorCategory.DEPENDENCY, MODEL_BACKEND_UNAVAILABLE, "model-backend");
  }

  /** The name a NameError says is not defined. */
  public static Optional<String> missingName(String nameErrorMessage) {
    Matcher m = NAME_ERROR.matcher(nameErrorMessage == null ? "" : nameErrorMessage);
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }
}
