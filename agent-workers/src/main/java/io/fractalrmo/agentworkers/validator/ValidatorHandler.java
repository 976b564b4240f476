package io.fractalrmo.agentworkers.validator;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.errors.Categorized;
import io.fractalrmo.agentworkers.errors.ErrorCategorizer;
import io.fractalrmo.agentworkers.errors.ErrorLogger;
import io.fractalrmo.agentworkers.executor.ExecutorHandler;
import io.fractalrmo.agentworkers.executor.SandboxConfinement;
import io.fractalrmo.agentworkers.sandbox.Evidence;
import io.fractalrmo.agentworkers.sandbox.Program;
import io.fractalrmo.agentworkers.sandbox.PythonError;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.sandbox.SandboxInterruptedException;
import io.fractalrmo.agentworkers.sandbox.SandboxLimits;
import io.fractalrmo.agentworkers.sandbox.SandboxResult;
import io.fractalrmo.agentworkers.worker.CutOffException;
import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.agentworkers.worker.RecordHandler;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.BlockedBy;
import io.fractalrmo.contracts.Bounded;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorDetail;
import io.fractalrmo.contracts.ExecutionConstraints;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.FindingPolicy;
import io.fractalrmo.contracts.FindingPolicy.Confinement;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.ValidationCheck;
import io.fractalrmo.contracts.ValidationOutcome;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The validator's per-record logic: judges {@code ExecutionResult.code} on its own, by running it,
 * level by level, stopping at the first failure, up to the level the action asks for (1–4,
 * default 3). It never weakens a verdict: a result the executor blocked or refused
 * ({@code blocked_by}) is not run again and stays a failure, with its findings; a run the
 * executor saw fail cannot become a success here.
 * <ol>
 *   <li>syntax: the code compiles;</li>
 *   <li>logic: no finding blocks it (the plan's, the executor's and the validator's own analysis
 *       of the code, tests and composed program, under {@link FindingPolicy} for this validator's
 *       confinement — a block here is {@code blocked_by VALIDATOR}), and the solution module ran to
 *       its end ({@link Evidence#solutionCompleted()});</li>
 *   <li>tests: the tests and {@code check(entry_point)} ran to their end without raising
 *       ({@link Evidence#testsCompleted()});</li>
 *   <li>performance: that run took at most {@link #PERFORMANCE_BUDGET_SHARE} of the time budget
 *       (the effective timeout), i.e. it keeps a 2× margin.</li>
 * </ol>
 * Levels 2–4 come from ONE confined run of {@link Program#withTests} — positive evidence from the
 * harness, never the exit status. Only when a failed run's evidence cannot say in which part it
 * stopped ({@code failedIn} unknown) is the solution run alone once more, to name the level; a
 * success never needs it. A sandbox that refuses to run gives {@code blocked_by SANDBOX}. The
 * action's contract and the operator's maxima are checked again (a result may come from any
 * producer). Every check is recorded with its duration; the trial is copied from the action. An
 * ErrorEvent is logged only when the execution had succeeded (the executor reports its own
 * failures).
 */
public final class ValidatorHandler implements RecordHandler<ExecutionResult> {

  public static final double PERFORMANCE_BUDGET_SHARE = 0.5;
  /** Imports a rule may add to the code on top of the operator's code size. */
  private static final int ADDED_IMPORTS_SLACK_BYTES = 4 * 1024;

  private final String validatorId;
  private final TopicCatalog catalog;
  private final PythonSandbox sandbox;
  private final PythonAnalysisHelper helper;
  private final Clock clock;
  private final InputLimits limits;
  private final ErrorCategorizer categorizer;
  private final ErrorLogger errors;
  private final java.util.concurrent.atomic.AtomicLong sandboxRuns = new java.util.concurrent.atomic.AtomicLong();

  public ValidatorHandler(String validatorId, TopicCatalog catalog, PythonSandbox sandbox,
      PythonAnalysisHelper helper, Clock clock) {
    this(validatorId, catalog, sandbox, helper, clock, InputLimits.defaults());
  }

  /** With the operator's {@code limits} (the {@code limits.*} settings). */
  public ValidatorHandler(String validatorId, TopicCatalog catalog, PythonSandbox sandbox,
      PythonAnalysisHelper helper, Clock clock, InputLimits limits) {
    this.validatorId = validatorId;
    this.catalog = catalog;
    this.sandbox = sandbox;
    this.helper = helper;
    this.clock = clock;
    this.limits = limits;
    this.categorizer = new ErrorCategorizer(helper.names());
    this.errors = new ErrorLogger(validatorId, "validator", catalog, clock);
  }

  @Override
  public List<Outgoing> handle(String key, ExecutionResult result) {
    long started = System.nanoTime();
    try {
      return validate(result, started);
    } catch (CutOffException e) {
      throw e;
    } catch (RuntimeException e) {
      if (e instanceof SandboxInterruptedException || CutOffException.byInterrupt(e)) {
        // the worker's stop (or a closed sandbox) cut the run off: no outcome, no error event —
        // the record is not committed and is validated again
        throw new CutOffException("validation of action " + result.getActionId() + " was cut off: "
            + e.getMessage(), e);
      }
      // the validator itself could not work (sandbox or helper broken): say so, never drop the result
      ActionItem action = result.getAction();
      PythonError error = new PythonError("ValidatorError", "validation could not run: " + e.getMessage(), null, null);
      Categorized c = new Categorized(ErrorCategory.RUNTIME, "ValidatorError", null);
      ValidationOutcome outcome = ValidationOutcome.newBuilder()
          .setTaskId(result.getTaskId()).setActionId(result.getActionId()).setValidatorId(validatorId)
          .setSuccess(false).setLevelRequested(requestedLevel(action))
          .setLevelReached(0).setFailedLevel(null).setChecks(List.of()).setError(Bounded.error(error.toDetail()))
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

  /** Sandboxed runs this validator made (one per verdict, a second only to locate a failure). */
  public long sandboxRuns() {
    return sandboxRuns.get();
  }

  private static int requestedLevel(ActionItem action) {
    return action.getValidationLevel() <= 0 ? 3 : Math.min(4, action.getValidationLevel());
  }

  private List<Outgoing> validate(ExecutionResult result, long started) {
    ActionItem action = result.getAction();
    int requested = requestedLevel(action);
    Checks checks = new Checks();
    if (result.getBlockedBy() != null) {
      // the executor's verdict stands: nothing is run again, the findings travel on
      checks.blocked(result.getBlockedBy(), result.getFindings(), System.nanoTime(),
          "the executor blocked this action (" + result.getBlockedBy() + "); nothing was run",
          result.getError(), result.getErrorCategory());
      return outputs(result, requested, checks, started);
    }
    String code = result.getCode() == null ? "" : result.getCode();
    List<InputLimits.Violation> broken = new ArrayList<>(limits.violations(action));
    if (Bounded.utf8Length(code) > limits.maxCodeBytes() + ADDED_IMPORTS_SLACK_BYTES) {
      broken.add(new InputLimits.Violation("code-size", "the executed code has "
          + Bounded.utf8Length(code) + " bytes, more than " + InputLimits.MAX_CODE_BYTES.key()));
    }
    if (!broken.isEmpty()) {
      String what = broken.stream().map(InputLimits.Violation::toString).collect(Collectors.joining("; "));
      checks.blocked(BlockedBy.CONTRACT, List.of(), System.nanoTime(),
          "the action breaks its input contract; nothing was run: " + what,
          new PythonError(ExecutorHandler.CONTRACT_VIOLATION, what, null, null).toDetail(), null);
      return outputs(result, requested, checks, started);
    }
    SandboxLimits limitsForRun = sandboxLimits(result, action.getConstraints());
    long timeoutMs = limitsForRun.timeoutMs();
    String tests = action.getInput().getTestCode();
    boolean hasTests = tests != null && !tests.isBlank();
    String entry = action.getInput().getEntryPoint();

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

      // level 2: logic — first what the policy says about everything that would run
      t = System.nanoTime();
      List<String> layers = SandboxConfinement.layers(sandbox);
      Confinement confinement = Confinement.ofLayers(layers);
      List<Finding> own = helper.analyzeProgram(code, tests, entry, List.of(Aspect.SECURITY)).findings()
          .stream().filter(f -> f.getAspect() == Aspect.SECURITY).toList();
      List<Finding> all = new ArrayList<>(action.getFindings());
      all.addAll(result.getFindings());
      all.addAll(own);
      List<Finding> blocking = distinct(FindingPolicy.blocking(all, confinement));
      if (!blocking.isEmpty()) {
        Finding f = blocking.get(0);
        String what = blocking.stream().map(b -> b.getType() + (b.getLine() == null ? "" : "@" + b.getLine()))
            .collect(Collectors.joining(", "));
        Categorized c = f.getAspect() == Aspect.SECURITY || f.getAspect() == Aspect.UNKNOWN
            ? categorizer.securityBlocked(f.getType())
            : new Categorized(category(f.getAspect()), f.getType(), null);
        checks.fail(2, "no blocking findings", "blocking findings under " + confinement + " ("
            + String.join(", ", layers) + "): " + what + "; nothing was run", t, c,
            new PythonError(c.errorType(), f.getDescription(), null, f.getLine()));
        checks.blockedBy = BlockedBy.VALIDATOR;
        checks.findings = blocking;
        break level;
      }
      checks.pass(2, "no blocking findings", "no finding blocks this code under " + confinement
          + " (" + String.join(", ", layers) + ")", t);

      // ONE confined run gives the evidence of levels 2, 3 and 4
      t = System.nanoTime();
      // (level 2 asked for alone does not need the tests to run)
      Program program = hasTests && requested >= 3 ? Program.withTests(code, tests, entry)
          : Program.solutionOnly(code);
      sandboxRuns.incrementAndGet();
      SandboxResult run = sandbox.run(program, limitsForRun);
      checks.layers = run.layers();
      if (run.refused()) {
        checks.blocked(BlockedBy.SANDBOX, List.of(), t, "the sandbox refused to run the code: "
                + run.error().message(), Bounded.error(run.error().toDetail()),
            categorizer.categorize(run.error(), false).category());
        break level;
      }
      Evidence ev = run.evidence() == null ? Evidence.none(hasTests) : run.evidence();
      PythonError error = run.success() ? null : ExecutorHandler.errorOf(run);
      if (!ev.solutionCompleted()) {
        if (!run.timedOut() && ev.failedIn() == null && program.hasTests()) {
          // the evidence does not say which part stopped: the solution alone names the level
          sandboxRuns.incrementAndGet();
          SandboxResult alone = sandbox.run(Program.solutionOnly(code), limitsForRun);
          Evidence ae = alone.evidence() == null ? Evidence.none(false) : alone.evidence();
          if (alone.success() && ae.solutionCompleted()) {
            checks.pass(2, "solution ran to its end", "the solution module ran to its end alone in "
                + alone.durationMs() + " ms (the run with the tests did not say where it stopped)", t);
            failTests(checks, requested, run, error, t);
            break level;
          }
          run = alone;
          error = ExecutorHandler.errorOf(alone);
        }
        checks.fail(2, "solution ran to its end", error.type() + (error.line() == null ? "" : " at line "
            + error.line()) + ": " + error.message(), t, categorizer.categorize(error, run.timedOut()), error);
        break level;
      }
      checks.pass(2, "solution ran to its end", "the harness saw the solution module run to its end", t);
      if (requested < 3) {
        break level;
      }

      // level 3: tests
      t = System.nanoTime();
      if (!hasTests) {
        checks.pass(3, "tests pass", "the action has no tests; nothing to run", t);
      } else if (!run.success() || !ev.testsCompleted()) {
        failTests(checks, requested, run, error, t);
        break level;
      } else {
        checks.pass(3, "tests pass", "the harness saw the tests" + (entry != null ? " (and check(" + entry
            + ") when they define it)" : "") + " run to their end in " + run.durationMs() + " ms", t);
      }
      if (requested < 4) {
        break level;
      }

      // level 4: performance, from the same run
      t = System.nanoTime();
      long budget = (long) (timeoutMs * PERFORMANCE_BUDGET_SHARE);
      if (run.durationMs() > budget) {
        checks.fail(4, "within time budget", "the run took " + run.durationMs() + " ms, more than "
            + (int) (PERFORMANCE_BUDGET_SHARE * 100) + " % of the " + timeoutMs + " ms budget", t,
            new Categorized(ErrorCategory.PERFORMANCE, "SlowExecution", "budget"),
            new PythonError("SlowExecution", "run " + run.durationMs() + " ms > " + budget + " ms", null, null));
        break level;
      }
      checks.pass(4, "within time budget", "the run took " + run.durationMs() + " ms ≤ " + budget
          + " ms (" + (int) (PERFORMANCE_BUDGET_SHARE * 100) + " % of " + timeoutMs + " ms)", t);
    }

    if (checks.failure == null && checks.blockedBy == null && !result.getSuccess()) {
      // the validator's run passed where the executor's failed: a verdict is never weakened
      ErrorDetail e = result.getError();
      String what = e == null ? "the execution did not succeed" : e.getType() + ": " + e.getMessage();
      checks.fail(Math.min(requested, 3), "the execution succeeded", "the executor's run failed (" + what
          + "); the validator's own run passing does not make it a success", System.nanoTime(),
          new Categorized(result.getErrorCategory() == null ? ErrorCategory.UNKNOWN : result.getErrorCategory(),
              e == null ? "ExecutionFailed" : e.getType(), null),
          new PythonError(e == null ? "ExecutionFailed" : e.getType(), e == null ? what : e.getMessage(),
              null, e == null ? null : e.getLine()));
    }
    return outputs(result, requested, checks, started);
  }

  /** Level 3 failed: the tests did not run to their end (an exception, an early exit, a timeout). */
  private void failTests(Checks checks, int requested, SandboxResult run, PythonError error, long t) {
    if (requested < 3) {
      return;
    }
    PythonError e = error != null ? error : ExecutorHandler.errorOf(run);
    checks.fail(3, "tests pass", e.type() + (e.line() == null ? "" : " at line " + e.line())
        + ": " + e.message(), t, categorizer.categorize(e, run.timedOut()), e);
  }

  /** The run's limits: the executor's effective timeout, clipped to this validator's maxima. */
  private SandboxLimits sandboxLimits(ExecutionResult result, ExecutionConstraints c) {
    long timeout = result.getEffectiveTimeoutMs() > 0 ? result.getEffectiveTimeoutMs() : c.getTimeoutMs();
    return new SandboxLimits(limits.clipTimeLimit(timeout), limits.clipMemory(c.getMemoryMb()),
        Math.min(c.getMaxProcesses(), limits.maxProcesses()),
        Math.min(c.getMaxOutputBytes(), limits.maxOutputBytes()), SandboxLimits.DEFAULT_FILE_SIZE_BYTES);
  }

  private List<Outgoing> outputs(ExecutionResult result, int requested, Checks checks, long started) {
    ActionItem action = result.getAction();
    boolean success = checks.failure == null && checks.blockedBy == null && checks.error == null
        && result.getSuccess() && result.getBlockedBy() == null;
    ValidationOutcome outcome = ValidationOutcome.newBuilder()
        .setTaskId(result.getTaskId())
        .setActionId(result.getActionId())
        .setValidatorId(validatorId)
        .setSuccess(success)
        .setLevelRequested(requested)
        .setLevelReached(checks.levelReached())
        .setFailedLevel(checks.failedLevel)
        .setChecks(checks.list)
        .setError(success ? null : checks.error == null ? null : Bounded.error(checks.error))
        .setErrorCategory(success ? null : checks.category())
        .setBlockedBy(checks.blockedBy)
        .setFindings(Bounded.findings(checks.findings))
        .setIsolationLayers(checks.layers)
        .setAppliedRuleIds(new ArrayList<>(result.getAppliedRuleIds()))
        .setTrial(action.getTrial())
        .setDurationMs((System.nanoTime() - started) / 1_000_000)
        .setExecutionDurationMs(result.getDurationMs())
        .setValidatedAt(Instant.ofEpochMilli(clock.millis()))
        .build();
    List<Outgoing> out = new ArrayList<>();
    out.add(new Outgoing(catalog.validationOutcomes().name(), result.getTaskId(), outcome));
    if (!success && result.getSuccess() && checks.failure != null) {
      Map<String, String> ctx = new HashMap<>();
      ctx.put("failed_level", String.valueOf(checks.failedLevel));
      if (checks.error != null && checks.error.getLine() != null) {
        ctx.put("line", Integer.toString(checks.error.getLine()));
      }
      if (checks.blockedBy != null) {
        ctx.put("blocked_by", checks.blockedBy.name());
      }
      out.addAll(errors.log(new ErrorLogger.Failure(checks.failure, checks.error.getMessage(),
          result.getTaskId(), result.getActionId(),
          action.getTrial() == null ? null : action.getTrial().getTrialId(), ctx)));
    }
    return out;
  }

  private static List<Finding> distinct(List<Finding> findings) {
    Set<String> seen = new LinkedHashSet<>();
    return findings.stream().filter(f -> seen.add(f.getType() + "@" + f.getLine() + "@" + f.getDescription()))
        .toList();
  }

  private static ErrorCategory category(Aspect aspect) {
    try {
      return ErrorCategory.valueOf(aspect.name());
    } catch (IllegalArgumentException e) {
      return ErrorCategory.UNKNOWN;
    }
  }

  private static final class Checks {
    final List<ValidationCheck> list = new ArrayList<>();
    Integer failedLevel;
    Categorized failure;
    ErrorDetail error;
    ErrorCategory blockedCategory;
    BlockedBy blockedBy;
    List<Finding> findings = List.of();
    List<String> layers = List.of();
    int maxPassed;

    void pass(int level, String name, String details, long startedNanos) {
      list.add(check(level, name, true, details, startedNanos));
      maxPassed = Math.max(maxPassed, level);
    }

    void fail(int level, String name, String details, long startedNanos, Categorized c, PythonError e) {
      list.add(check(level, name, false, details, startedNanos));
      failedLevel = level;
      failure = c;
      error = e.toDetail();
    }

    /** Nothing is (or was) run for this verdict: level 0, who blocked it, the findings behind it. */
    void blocked(BlockedBy by, List<Finding> behind, long startedNanos, String details, ErrorDetail e,
        ErrorCategory category) {
      list.add(check(0, "not blocked", false, details, startedNanos));
      blockedBy = by;
      findings = behind;
      error = e;
      blockedCategory = category;
    }

    ErrorCategory category() {
      return failure != null ? failure.category() : blockedCategory;
    }

    int levelReached() {
      // a level is reached when all of its checks passed
      if (blockedBy != null && failedLevel == null) {
        return 0;
      }
      return failedLevel == null ? maxPassed : failedLevel - 1;
    }

    private static ValidationCheck check(int level, String name, boolean passed, String details, long t) {
      return ValidationCheck.newBuilder().setLevel(level).setName(name).setPassed(passed)
          .setDetails(Bounded.text(details, Bounded.MESSAGE_CHARS))
          .setDurationMs((System.nanoTime() - t) / 1_000_000).build();
    }
  }
}
