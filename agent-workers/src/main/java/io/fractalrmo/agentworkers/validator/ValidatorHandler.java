package io.fractalrmo.agentworkers.validator;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.errors.Categorized;
import io.fractalrmo.agentworkers.errors.ErrorCategorizer;
import io.fractalrmo.agentworkers.errors.ErrorLogger;
import io.fractalrmo.agentworkers.sandbox.Program;
import io.fractalrmo.agentworkers.sandbox.PythonError;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.sandbox.SandboxLimits;
import io.fractalrmo.agentworkers.sandbox.SandboxResult;
import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.agentworkers.worker.RecordHandler;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.ValidationCheck;
import io.fractalrmo.contracts.ValidationOutcome;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The validator's per-record logic: re-checks {@code ExecutionResult.code} on its own, level by
 * level, stopping at the first failure, up to the level the action asks for (1–4, default 3):
 * <ol>
 *   <li>syntax: the code compiles;</li>
 *   <li>logic: no blocking finding from the analyzers, and the solution alone runs in the sandbox
 *       without raising;</li>
 *   <li>tests: solution + test_code + {@code check(entry_point)} run in the sandbox without raising;</li>
 *   <li>performance: that test run took at most {@link #PERFORMANCE_BUDGET_SHARE} of the time
 *       budget (the effective timeout), i.e. it keeps a 2× margin.</li>
 * </ol>
 * Every check is recorded with its duration. The trial is copied from the action. An ErrorEvent is
 * logged only when the execution had succeeded (the executor reports its own failures).
 */
public final class ValidatorHandler implements RecordHandler<ExecutionResult> {

  public static final double PERFORMANCE_BUDGET_SHARE = 0.5;

  private final String validatorId;
  private final TopicCatalog catalog;
  private final PythonSandbox sandbox;
  private final PythonAnalysisHelper helper;
  private final Clock clock;
  private final ErrorCategorizer categorizer;
  private final ErrorLogger errors;

  public ValidatorHandler(String validatorId, TopicCatalog catalog, PythonSandbox sandbox,
      PythonAnalysisHelper helper, Clock clock) {
    this.validatorId = validatorId;
    this.catalog = catalog;
    this.sandbox = sandbox;
    this.helper = helper;
    this.clock = clock;
    this.categorizer = new ErrorCategorizer(helper.names());
    this.errors = new ErrorLogger(validatorId, "validator", catalog, clock);
  }

  @Override
  public List<Outgoing> handle(String key, ExecutionResult result) {
    long started = System.nanoTime();
    try {
      return validate(result, started);
    } catch (RuntimeException e) {
      // the validator itself could not work (sandbox or helper broken): say so, never drop the result
      ActionItem action = result.getAction();
      PythonError error = new PythonError("ValidatorError", "validation could not run: " + e.getMessage(), null, null);
      Categorized c = new Categorized(ErrorCategory.RUNTIME, "ValidatorError", null);
      ValidationOutcome outcome = ValidationOutcome.newBuilder()
          .setTaskId(result.getTaskId()).setActionId(result.getActionId()).setValidatorId(validatorId)
          .setSuccess(false).setLevelRequested(action.getValidationLevel() <= 0 ? 3 : Math.min(4, action.getValidationLevel()))
          .setLevelReached(0).setFailedLevel(null).setChecks(List.of()).setError(error.toDetail())
          .setErrorCategory(c.category()).setAppliedRuleIds(new ArrayList<>(result.getAppliedRuleIds()))
          .setTrial(action.getTrial()).setDurationMs((System.nanoTime() - started) / 1_000_000)
          .setExecutionDurationMs(result.getDurationMs()).setValidatedAt(Instant.ofEpochMilli(clock.millis()))
          .build();
      List<Outgoing> out = new ArrayList<>();
      out.add(new Outgoing(catalog.validationOutcomes().name(), result.getTaskId(), outcome));
      out.addAll(errors.log(new ErrorLogger.Failure(c, error.message(), result.getTaskId(), result.getActionId(),
          action.getTrial() == null ? null : action.getTrial().getTrialId(), Map.of())));
      return out;
    }
  }

  private List<Outgoing> validate(ExecutionResult result, long started) {
    ActionItem action = result.getAction();
    int requested = action.getValidationLevel() <= 0 ? 3 : Math.min(4, action.getValidationLevel());
    String code = result.getCode() == null ? "" : result.getCode();
    long timeoutMs = result.getEffectiveTimeoutMs() > 0 ? result.getEffectiveTimeoutMs()
        : action.getConstraints().getTimeoutMs();
    SandboxLimits limits = SandboxLimits.from(action.getConstraints()).withTimeoutMs(timeoutMs);
    Checks checks = new Checks();

    level:
    {
      // level 1: syntax
      long t = System.nanoTime();
      if (code.isBlank()) {
        checks.fail(1, "compiles", "there is no code to validate", t,
            new Categorized(ErrorCategory.DEPENDENCY, "NoCode", null),
            new PythonError("NoCode", "the execution produced no code", null, null));
        break level;
      }
      var syntax = helper.compileError(code);
      if (syntax.isPresent()) {
        checks.fail(1, "compiles", syntax.get().type() + " at line " + syntax.get().line() + ": "
            + syntax.get().message(), t, categorizer.categorize(syntax.get(), false), syntax.get());
        break level;
      }
      checks.pass(1, "compiles", "the code compiles", t);
      if (requested < 2) {
        break level;
      }

      // level 2: logic
      t = System.nanoTime();
      List<Finding> blocking = action.getFindings().stream().filter(Finding::getBlocking).toList();
      if (!blocking.isEmpty()) {
        Finding f = blocking.get(0);
        String what = blocking.stream().map(b -> b.getType() + (b.getLine() == null ? "" : "@" + b.getLine()))
            .collect(Collectors.joining(", "));
        Categorized c = f.getAspect() == Aspect.SECURITY ? categorizer.securityBlocked(f.getType())
            : new Categorized(category(f.getAspect()), f.getType(), null);
        checks.fail(2, "no blocking findings", "blocking findings: " + what, t, c,
            new PythonError(c.errorType(), f.getDescription(), null, f.getLine()));
        break level;
      }
      checks.pass(2, "no blocking findings", "no analyzer finding blocks this code", t);
      t = System.nanoTime();
      SandboxResult alone = sandbox.run(Program.solutionOnly(code), limits);
      if (!alone.success()) {
        PythonError e = errorOf(alone);
        checks.fail(2, "runs without raising", e.type() + ": " + e.message(), t,
            categorizer.categorize(e, alone.timedOut()), e);
        break level;
      }
      checks.pass(2, "runs without raising", "the solution alone ran in " + alone.durationMs() + " ms", t);
      if (requested < 3) {
        break level;
      }

      // level 3: tests
      t = System.nanoTime();
      String tests = action.getInput().getTestCode();
      if (tests == null || tests.isBlank()) {
        checks.pass(3, "tests pass", "the action has no tests; nothing to run", t);
        checks.testDurationMs = alone.durationMs();
      } else {
        boolean definesCheck = helper.topLevelFunctions(tests).contains("check");
        String entry = action.getInput().getEntryPoint();
        SandboxResult tested = sandbox.run(Program.withTests(code, tests, entry), limits);
        if (!tested.success()) {
          PythonError e = errorOf(tested);
          checks.fail(3, "tests pass", e.type() + (e.line() == null ? "" : " at line " + e.line())
              + ": " + e.message(), t, categorizer.categorize(e, tested.timedOut()), e);
          break level;
        }
        checks.testDurationMs = tested.durationMs();
        checks.pass(3, "tests pass", "tests" + (definesCheck && entry != null ? " and check(" + entry + ")" : "")
            + " raised nothing in " + tested.durationMs() + " ms", t);
      }
      if (requested < 4) {
        break level;
      }

      // level 4: performance
      t = System.nanoTime();
      long budget = (long) (timeoutMs * PERFORMANCE_BUDGET_SHARE);
      if (checks.testDurationMs > budget) {
        checks.fail(4, "within time budget", "the test run took " + checks.testDurationMs + " ms, more than "
            + (int) (PERFORMANCE_BUDGET_SHARE * 100) + " % of the " + timeoutMs + " ms budget", t,
            new Categorized(ErrorCategory.PERFORMANCE, "SlowExecution", "budget"),
            new PythonError("SlowExecution", "test run " + checks.testDurationMs + " ms > " + budget + " ms", null, null));
        break level;
      }
      checks.pass(4, "within time budget", "the test run took " + checks.testDurationMs + " ms ≤ " + budget
          + " ms (" + (int) (PERFORMANCE_BUDGET_SHARE * 100) + " % of " + timeoutMs + " ms)", t);
    }

    boolean success = checks.failure == null;
    ValidationOutcome outcome = ValidationOutcome.newBuilder()
        .setTaskId(result.getTaskId())
        .setActionId(result.getActionId())
        .setValidatorId(validatorId)
        .setSuccess(success)
        .setLevelRequested(requested)
        .setLevelReached(checks.levelReached())
        .setFailedLevel(checks.failedLevel)
        .setChecks(checks.list)
        .setError(checks.error == null ? null : checks.error.toDetail())
        .setErrorCategory(checks.failure == null ? null : checks.failure.category())
        .setAppliedRuleIds(new ArrayList<>(result.getAppliedRuleIds()))
        .setTrial(action.getTrial())
        .setDurationMs((System.nanoTime() - started) / 1_000_000)
        .setExecutionDurationMs(result.getDurationMs())
        .setValidatedAt(Instant.ofEpochMilli(clock.millis()))
        .build();
    List<Outgoing> out = new ArrayList<>();
    out.add(new Outgoing(catalog.validationOutcomes().name(), result.getTaskId(), outcome));
    if (!success && result.getSuccess()) {
      Map<String, String> ctx = new HashMap<>();
      ctx.put("failed_level", String.valueOf(checks.failedLevel));
      if (checks.error != null && checks.error.line() != null) {
        ctx.put("line", Integer.toString(checks.error.line()));
      }
      out.addAll(errors.log(new ErrorLogger.Failure(checks.failure, checks.error.message(),
          result.getTaskId(), result.getActionId(),
          action.getTrial() == null ? null : action.getTrial().getTrialId(), ctx)));
    }
    return out;
  }

  private static ErrorCategory category(Aspect aspect) {
    try {
      return ErrorCategory.valueOf(aspect.name());
    } catch (IllegalArgumentException e) {
      return ErrorCategory.UNKNOWN;
    }
  }

  private static PythonError errorOf(SandboxResult r) {
    return r.error() != null ? r.error()
        : new PythonError("ExitStatus", "the program exited with status " + r.exitCode(), null, null);
  }

  private static final class Checks {
    final List<ValidationCheck> list = new ArrayList<>();
    Integer failedLevel;
    Categorized failure;
    PythonError error;
    long testDurationMs;
    int maxPassed;

    void pass(int level, String name, String details, long startedNanos) {
      list.add(check(level, name, true, details, startedNanos));
      maxPassed = Math.max(maxPassed, level);
    }

    void fail(int level, String name, String details, long startedNanos, Categorized c, PythonError e) {
      list.add(check(level, name, false, details, startedNanos));
      failedLevel = level;
      failure = c;
      error = e;
    }

    int levelReached() {
      // a level is reached when all of its checks passed
      return failedLevel == null ? maxPassed : failedLevel - 1;
    }

    private static ValidationCheck check(int level, String name, boolean passed, String details, long t) {
      return ValidationCheck.newBuilder().setLevel(level).setName(name).setPassed(passed)
          .setDetails(details).setDurationMs((System.nanoTime() - t) / 1_000_000).build();
    }
  }
}
