package io.fractalrmo.agentworkers.executor;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper.MissingName;
import io.fractalrmo.agentworkers.errors.Categorized;
import io.fractalrmo.agentworkers.errors.ErrorCategorizer;
import io.fractalrmo.agentworkers.errors.ErrorLogger;
import io.fractalrmo.agentworkers.rules.RuleBook;
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
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.BlockedBy;
import io.fractalrmo.contracts.Bounded;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorDetail;
import io.fractalrmo.contracts.ExecutionConstraints;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.FindingPolicy;
import io.fractalrmo.contracts.FindingPolicy.Confinement;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.contracts.Isolation;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.Severity;
import io.fractalrmo.contracts.TopicCatalog;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor's per-record logic: runs an {@link ActionItem} in the {@link PythonSandbox} and
 * produces an {@link ExecutionResult} (key = task id), plus an ErrorEvent (and an Alert for
 * SECURITY/RUNTIME) when it fails.
 *
 * <p><b>Before anything runs</b>, in this order: the action's input contract ({@link
 * InputLimits#violations(ActionItem)}: action items may come from any producer) — a broken one
 * is {@code blocked_by CONTRACT}; its time, memory, output and process limits are clipped to the
 * operator's maxima (every clip, the plan's and this one, listed in {@code clipped}); a BLOCK
 * action is not run ({@code blocked_by PLAN}); then the executor analyses everything that will
 * run itself — the code (after generation by the model backend, if any), the test code and the
 * program they make ({@link PythonAnalysisHelper#analyzeProgram}) — and applies {@link
 * FindingPolicy} under its own sandbox's confinement to those findings and the plan's: a blocking
 * one stops the action ({@code blocked_by EXECUTOR}); an active BLOCK_AND_ALERT rule whose
 * finding matches stops it too ({@code blocked_by RULE}). Findings the policy alerts on raise one
 * Alert when the action runs. A blocked result carries the findings behind the block, is never a
 * success, and its task ends REJECTED.
 *
 * <p>EXECUTE runs solution, test_code and {@code check(entry_point)} as one {@link Program}; the
 * run succeeds only on the harness's positive {@link Evidence} that every part ran to its end (an
 * early exit with status 0 is an {@value ErrorCategorizer#EARLY_EXIT}). A sandbox that refuses to
 * run ({@link SandboxResult#refused()}: no confining layer works) gives {@code blocked_by
 * SANDBOX} with the sandbox's reason. Rules (see {@link AppliedRules}): PRE_VALIDATE_SYNTAX
 * compiles first and fails fast without the sandbox; ADD_MISSING_IMPORTS adds imports for unbound
 * names that are standard-library modules or typing names before the run, and once more after a
 * NameError for such a name (one re-run); INCREASE_TIMEOUT re-runs a timed-out action once with a
 * longer timeout, bounded by the rule's limits and the operator's maximum; PROMPT_GUIDELINE goes
 * to the model backend. Without code and without a model backend, the action fails with a
 * DEPENDENCY error — code is never invented. FIX_SYNTAX asks the model backend (when there is one)
 * for a corrected version of code that does not compile; without one the code runs as it is.
 *
 * <p>Several ADD_MISSING_IMPORTS rules may apply (one per module, e.g. {@code typing} and
 * {@code math}): each missing name is imported by the first rule allowing its module (a trial's
 * TREATMENT candidate first), and {@code applied_rule_ids} lists every rule that added an import.
 *
 * <p>An action whose attributes hold {@code fractal.rules=off} runs without any protocol rule
 * (neither active rules nor a trial candidate); its {@code applied_rule_ids} stay empty. The
 * contract, the security policy and the sandbox's refusal are not protocol rules and still apply.
 *
 * <p>Every string the code can influence (error type, message, traceback, stdout, stderr,
 * finding descriptions) is bounded ({@link Bounded}) before it enters a record.
 */
public final class ExecutorHandler implements RecordHandler<ActionItem> {

  private static final Logger log = LoggerFactory.getLogger(ExecutorHandler.class);
  /** Error type of an action that breaks its input contract. */
  public static final String CONTRACT_VIOLATION = "ContractViolation";

  private final String executorId;
  private final TopicCatalog catalog;
  private final PythonSandbox sandbox;
  private final PythonAnalysisHelper helper;
  private final RuleBook rules;
  private final CodeGenerator generator;
  private final Clock clock;
  private final InputLimits limits;
  private final ErrorCategorizer categorizer;
  private final ErrorLogger errors;

  /** {@code generator} may be null: then actions without code fail with a DEPENDENCY error. */
  public ExecutorHandler(String executorId, TopicCatalog catalog, PythonSandbox sandbox,
      PythonAnalysisHelper helper, RuleBook rules, CodeGenerator generator, Clock clock) {
    this(executorId, catalog, sandbox, helper, rules, generator, clock, InputLimits.defaults());
  }

  /** With the operator's {@code limits} (the {@code limits.*} settings). */
  public ExecutorHandler(String executorId, TopicCatalog catalog, PythonSandbox sandbox,
      PythonAnalysisHelper helper, RuleBook rules, CodeGenerator generator, Clock clock,
      InputLimits limits) {
    this.executorId = executorId;
    this.catalog = catalog;
    this.sandbox = sandbox;
    this.helper = helper;
    this.rules = rules;
    this.generator = generator;
    this.clock = clock;
    this.limits = limits;
    this.categorizer = new ErrorCategorizer(helper.names());
    this.errors = new ErrorLogger(executorId, "executor", catalog, clock);
  }

  @Override
  public List<Outgoing> handle(String key, ActionItem action) {
    Run run = new Run(action);
    try {
      execute(run);
    } catch (CutOffException e) {
      throw e;
    } catch (RuntimeException e) {
      if (e instanceof SandboxInterruptedException || CutOffException.byInterrupt(e)) {
        // the worker's stop (or a closed sandbox) cut the run off: no result, no error event —
        // the record is not committed and is done again
        throw new CutOffException("action " + action.getActionId() + " was cut off: " + e.getMessage(), e);
      }
      log.warn("action {} could not be executed: {}", action.getActionId(), e.toString());
      run.fail(new Categorized(ErrorCategory.RUNTIME, "SandboxError", null),
          new PythonError("SandboxError", String.valueOf(e.getMessage()), null, null));
    }
    return run.outputs();
  }

  private void execute(Run run) {
    ActionItem action = run.action;
    List<InputLimits.Violation> broken = limits.violations(action);
    if (!broken.isEmpty()) {
      run.brokenContract(broken);
      return;
    }
    SandboxLimits sandboxLimits = run.clip();
    AppliedRules applied;
    if (run.rulesOff) {
      log.debug("action {} (task {}) runs without protocol rules: attribute {}={}", action.getActionId(),
          action.getTaskId(), AppliedRules.RULES_ATTRIBUTE, AppliedRules.RULES_OFF);
      if (action.getTrial() != null) {
        log.warn("trial action {} carries {}={}: its {} arm runs without the candidate rule {}",
            action.getActionId(), AppliedRules.RULES_ATTRIBUTE, AppliedRules.RULES_OFF,
            action.getTrial().getArm(), action.getTrial().getRuleId());
      }
      applied = AppliedRules.none();
    } else {
      applied = AppliedRules.forAction(action, rules);
    }
    ExecutionInput in = action.getInput();

    if (action.getType() == ActionType.BLOCK) {
      List<Finding> blocking = FindingPolicy.blocking(action.getFindings(), Confinement.CONFINED);
      if (blocking.isEmpty()) {
        blocking = action.getFindings().stream()
            .filter(f -> f.getBlocking() || f.getSeverity().compareTo(Severity.HIGH) >= 0)
            .toList();
      }
      run.blocked(BlockedBy.PLAN, blocking, "the plan blocked this action");
      return;
    }

    String code = in.getCode();
    boolean hasCode = code != null && !code.isBlank();
    if (!hasCode) {
      if (generator == null) {
        run.fail(categorizer.modelBackendUnavailable(), new PythonError(
            ErrorCategorizer.MODEL_BACKEND_UNAVAILABLE,
            "action " + action.getActionId() + " (" + action.getType() + ") has no code and no model "
                + "backend is configured (set FRACTAL_MODEL_URL); nothing was run", null, null));
        return;
      }
      List<AppliedRules.Rule> guidelines = applied.all(RuleActionKind.PROMPT_GUIDELINE);
      guidelines.forEach(r -> run.ruleIds.add(r.ruleId()));
      try {
        code = generator.generate(in.getPrompt() == null ? "" : in.getPrompt(), in.getEntryPoint(),
            AppliedRules.guidelines(guidelines));
      } catch (Exception e) {
        if (CutOffException.byInterrupt(e)) {
          throw new CutOffException("action " + action.getActionId() + ": the model call was cut off", e);
        }
        run.fail(new Categorized(ErrorCategory.DEPENDENCY, "ModelBackendError",
            "model-backend"), new PythonError("ModelBackendError",
            "the model backend did not return code: " + e.getMessage(), null, null));
        return;
      }
    }
    if (action.getType() == ActionType.FIX_SYNTAX && generator != null && helper.compileError(code).isPresent()) {
      // the analyzers found a syntax error: ask the model for a corrected version (without a
      // backend the code runs as it is and fails with its SyntaxError)
      List<AppliedRules.Rule> guidelines = applied.all(RuleActionKind.PROMPT_GUIDELINE);
      guidelines.forEach(r -> run.ruleIds.add(r.ruleId()));
      PythonError syntax = helper.compileError(code).get();
      try {
        code = generator.generate("Fix the " + syntax.type() + " (line " + syntax.line() + ": " + syntax.message()
            + ") in this Python code without changing what it does:\n```python\n" + code + "\n```"
            + (in.getPrompt() == null ? "" : "\nThe task: " + in.getPrompt()), in.getEntryPoint(),
            AppliedRules.guidelines(guidelines));
      } catch (Exception e) {
        if (CutOffException.byInterrupt(e)) {
          throw new CutOffException("action " + action.getActionId() + ": the model call was cut off", e);
        }
        run.fail(new Categorized(ErrorCategory.DEPENDENCY, "ModelBackendError",
            "model-backend"), new PythonError("ModelBackendError",
            "the model backend did not return a fix: " + e.getMessage(), null, null));
        return;
      }
    }
    if (code != null && !code.equals(in.getCode()) && Bounded.utf8Length(code) > limits.maxCodeBytes()) {
      run.fail(new Categorized(ErrorCategory.DEPENDENCY, "ModelOutputTooLarge", "model-backend"),
          new PythonError("ModelOutputTooLarge", "the model backend returned " + Bounded.utf8Length(code)
              + " bytes of code, more than " + InputLimits.MAX_CODE_BYTES.key() + " = "
              + limits.maxCodeBytes() + "; nothing was run", null, null));
      return;
    }
    run.code = code;

    // the executor's own analysis of everything that will run, under its own sandbox's policy
    Optional<List<Finding>> own = ownAnalysis(run, code, in);
    if (own.isEmpty()) {
      return; // blocked
    }
    List<Finding> findings = union(action.getFindings(), own.get());
    if (blockedByRule(run, applied, findings)) {
      return;
    }
    run.signals = FindingPolicy.alerting(findings, run.confinement);

    if (applied.first(RuleActionKind.PRE_VALIDATE_SYNTAX).isPresent()) {
      AppliedRules.Rule r = applied.first(RuleActionKind.PRE_VALIDATE_SYNTAX).get();
      run.ruleIds.add(r.ruleId());
      long checkStarted = System.nanoTime();
      Optional<PythonError> syntax = helper.compileError(code);
      run.totalDurationMs += (System.nanoTime() - checkStarted) / 1_000_000; // the rule's cost
      if (syntax.isPresent()) {
        run.fail(categorizer.categorize(syntax.get(), false), syntax.get());
        return;
      }
    }

    // every applicable ADD_MISSING_IMPORTS rule: each missing name is imported by the first rule
    // that allows its module (a TREATMENT candidate first)
    boolean imports = !applied.all(RuleActionKind.ADD_MISSING_IMPORTS).isEmpty();
    if (imports) {
      List<String> statements = new ArrayList<>();
      for (MissingName m : helper.missingNames(code)) {
        if (m.module() == null || m.statement() == null) {
          continue;
        }
        Optional<AppliedRules.Rule> rule = applied.importRuleFor(m.module());
        if (rule.isPresent()) {
          statements.add(m.statement());
          run.ruleIds.add(rule.get().ruleId());
        }
      }
      run.code = Programs.addImports(code, statements);
    }

    SandboxResult r = sandbox.run(Program.withTests(run.code, in.getTestCode(), in.getEntryPoint()), sandboxLimits);
    if (run.refusedBy(r)) {
      return;
    }
    run.record(r, sandboxLimits);

    // one re-run after a NameError for a module/typing name, when an ADD_MISSING_IMPORTS rule
    // allows that module (the first such rule adds the import)
    if (!r.success() && imports && r.error() != null && "NameError".equals(r.error().type())) {
      Optional<String> name = ErrorCategorizer.missingName(r.error().message());
      Optional<String> module = name.flatMap(n -> helper.names().moduleProviding(n));
      Optional<AppliedRules.Rule> rule = module.flatMap(applied::importRuleFor);
      if (rule.isPresent()) {
        String statement = module.get().equals("typing") ? "from typing import " + name.get() : "import " + name.get();
        run.code = Programs.addImports(run.code, List.of(statement));
        run.ruleIds.add(rule.get().ruleId());
        r = sandbox.run(Program.withTests(run.code, in.getTestCode(), in.getEntryPoint()), sandboxLimits);
        if (run.refusedBy(r)) {
          return;
        }
        run.record(r, sandboxLimits);
      }
    }

    Optional<AppliedRules.Rule> timeout = applied.first(RuleActionKind.INCREASE_TIMEOUT);
    if (r.timedOut() && timeout.isPresent()) {
      long wanted = AppliedRules.increasedTimeout(timeout.get(), sandboxLimits.timeoutMs());
      long longer = limits.clipTimeLimit(wanted);
      if (longer < wanted) {
        run.clipped.add("INCREASE_TIMEOUT's " + wanted + " ms clipped to " + longer + " ms ("
            + InputLimits.MAX_TIME_LIMIT_MS.key() + ")");
      }
      if (longer > sandboxLimits.timeoutMs()) {
        run.ruleIds.add(timeout.get().ruleId());
        SandboxLimits more = sandboxLimits.withTimeoutMs(longer);
        r = sandbox.run(Program.withTests(run.code, in.getTestCode(), in.getEntryPoint()), more);
        if (run.refusedBy(r)) {
          return;
        }
        run.record(r, more);
      }
    }
    if (!r.success()) {
      PythonError error = errorOf(r);
      run.fail(categorizer.categorize(error, r.timedOut()), error);
    }
  }

  /**
   * Why a run that is not a success failed: the error the sandbox reported, else an early exit
   * (the harness did not see every part finish), else the exit status.
   */
  public static PythonError errorOf(SandboxResult r) {
    if (r.error() != null) {
      return r.error();
    }
    Evidence e = r.evidence();
    if (e != null && !e.complete()) {
      String part = !e.solutionCompleted() ? "the solution module ran to its end"
          : "the tests ran to their end";
      return new PythonError(ErrorCategorizer.EARLY_EXIT, "the program ended (exit status "
          + r.exitCode() + ") before " + part + "; success needs the harness to see every part "
          + "finish", null, null);
    }
    return new PythonError("ExitStatus", "the program exited with status " + r.exitCode(), null, null);
  }

  /** BLOCK_AND_ALERT: the first rule with a matching finding blocks the action (true). */
  private static boolean blockedByRule(Run run, AppliedRules applied, List<Finding> findings) {
    for (AppliedRules.Rule r : applied.all(RuleActionKind.BLOCK_AND_ALERT)) {
      List<Finding> hit = AppliedRules.blockedFindings(r, findings);
      if (!hit.isEmpty()) {
        run.ruleIds.add(r.ruleId());
        run.blocked(BlockedBy.RULE, hit, "rule " + r.ruleId() + " (BLOCK_AND_ALERT) blocked this action");
        return true;
      }
    }
    return false;
  }

  /**
   * Whether the plan was made without the action's SECURITY analysis (it did not arrive in time;
   * when every aspect is missing, SECURITY is among them and the findings are empty).
   */
  static boolean lacksSecurityAnalysis(ActionItem action) {
    return action.getMissingAspects() != null && action.getMissingAspects().contains(Aspect.SECURITY);
  }

  /**
   * The executor's own SECURITY analysis of what will run — the code, the test code and the
   * program they make — judged together with the plan's findings by {@link FindingPolicy} under
   * this sandbox's confinement: empty when a finding blocks the action (then {@code run} is
   * blocked), else the executor's own findings. A helper that cannot analyse fails the action
   * (nothing unanalysed runs).
   */
  private Optional<List<Finding>> ownAnalysis(Run run, String code, ExecutionInput in) {
    ActionItem action = run.action;
    List<Finding> own;
    try {
      own = helper.analyzeProgram(code, in.getTestCode(), in.getEntryPoint(), List.of(Aspect.SECURITY))
          .findings().stream()
          .filter(f -> f.getAspect() == Aspect.SECURITY)
          .toList();
    } catch (RuntimeException e) {
      throw new IllegalStateException("the executor could not analyse the code it would run, so it "
          + "was not run: " + e.getMessage(), e);
    }
    List<Finding> blocking = FindingPolicy.blocking(union(action.getFindings(), own), run.confinement);
    boolean lacked = lacksSecurityAnalysis(action);
    if (lacked || !blocking.isEmpty()) {
      log.info("action {} (task {}): the executor's own SECURITY analysis{}: {} finding(s), {} blocking "
          + "under {} ({}){}", action.getActionId(), action.getTaskId(),
          lacked ? " (the plan lacked it: missing aspects " + action.getMissingAspects() + ")" : "",
          own.size(), blocking.size(), run.confinement, run.layers, blocking.isEmpty() ? "" : " — not run");
    }
    if (!blocking.isEmpty()) {
      String why = lacked
          ? "the plan lacked its SECURITY analysis; the executor's own SECURITY analysis blocked this action"
          : run.confinement == Confinement.UNCONFINED
              ? "the sandbox here does not confine the code (layers " + run.layers + "), so the "
                  + "executor's policy for unconfined code blocked this action"
              : "the executor's own SECURITY analysis of the code, tests and program it would run blocked "
                  + "this action";
      run.blocked(BlockedBy.EXECUTOR, blocking, why);
      return Optional.empty();
    }
    return Optional.of(own);
  }

  /** Both lists, without a finding of {@code b} that {@code a} already holds (type and line). */
  private static List<Finding> union(List<Finding> a, List<Finding> b) {
    if (b.isEmpty()) {
      return a;
    }
    List<Finding> all = new ArrayList<>(a);
    Set<String> seen = a.stream().map(f -> f.getType() + "@" + f.getLine() + "@" + f.getDescription())
        .collect(Collectors.toSet());
    for (Finding f : b) {
      if (seen.add(f.getType() + "@" + f.getLine() + "@" + f.getDescription())) {
        all.add(f);
      }
    }
    return all;
  }

  private static ErrorDetail detail(PythonError e) {
    return e == null ? null : Bounded.error(e.toDetail());
  }

  /** The state of one action's execution. */
  private final class Run {
    final ActionItem action;
    final Set<String> ruleIds;
    final boolean rulesOff;
    final List<String> layers = SandboxConfinement.layers(sandbox);
    final Confinement confinement = Confinement.ofLayers(layers);
    final List<String> clipped = new ArrayList<>();
    String code = "";
    SandboxResult last;
    long totalDurationMs;
    long effectiveTimeoutMs;
    int effectiveMemoryMb;
    int maxOutputBytes;
    Categorized failure;
    PythonError error;
    BlockedBy blockedBy;
    List<Finding> blockingFindings = List.of();
    List<Finding> signals = List.of();
    boolean contractOnly;
    ActionItem recordedAction;

    Run(ActionItem action) {
      this.action = action;
      this.recordedAction = action;
      this.rulesOff = AppliedRules.rulesOff(action);
      // rules off: no rule applies, so none is reported (even one a producer may have listed)
      this.ruleIds = rulesOff ? new LinkedHashSet<>() : new LinkedHashSet<>(action.getAppliedRuleIds());
      ExecutionConstraints c = action.getConstraints();
      this.effectiveTimeoutMs = c == null ? 0 : limits.clipTimeLimit(c.getTimeoutMs());
      this.maxOutputBytes = limits.maxOutputBytes();
    }

    /** The sandbox limits of this action, clipped to the operator's maxima, every clip noted. */
    SandboxLimits clip() {
      ExecutionConstraints c = action.getConstraints();
      if (c.getRequestedTimeoutMs() != null && c.getRequestedTimeoutMs() > c.getTimeoutMs()) {
        clipped.add("time limit " + c.getRequestedTimeoutMs() + " ms clipped to " + c.getTimeoutMs()
            + " ms at plan time");
      }
      if (c.getRequestedMemoryMb() != null && c.getRequestedMemoryMb() > c.getMemoryMb()) {
        clipped.add("memory limit " + c.getRequestedMemoryMb() + " MB clipped to " + c.getMemoryMb()
            + " MB at plan time");
      }
      long timeout = limits.clipTimeLimit(c.getTimeoutMs());
      if (timeout < c.getTimeoutMs()) {
        clipped.add(limits.timeClipNote(c.getTimeoutMs()));
      }
      int memory = limits.clipMemory(c.getMemoryMb());
      if (memory < c.getMemoryMb()) {
        clipped.add(limits.memoryClipNote(c.getMemoryMb()));
      }
      int output = Math.min(c.getMaxOutputBytes(), limits.maxOutputBytes());
      if (output < c.getMaxOutputBytes()) {
        clipped.add("output kept " + c.getMaxOutputBytes() + " bytes clipped to " + output + " bytes ("
            + InputLimits.MAX_OUTPUT_BYTES.key() + ")");
      }
      int processes = Math.min(c.getMaxProcesses(), limits.maxProcesses());
      if (processes < c.getMaxProcesses()) {
        clipped.add("processes " + c.getMaxProcesses() + " clipped to " + processes + " ("
            + InputLimits.MAX_PROCESSES.key() + ")");
      }
      effectiveTimeoutMs = timeout;
      effectiveMemoryMb = memory;
      maxOutputBytes = output;
      return new SandboxLimits(timeout, memory, processes, output, SandboxLimits.DEFAULT_FILE_SIZE_BYTES);
    }

    void record(SandboxResult r, SandboxLimits l) {
      last = r;
      totalDurationMs += r.durationMs();
      effectiveTimeoutMs = l.timeoutMs();
      effectiveMemoryMb = l.memoryMb();
    }

    void fail(Categorized c, PythonError e) {
      failure = c;
      error = e;
    }

    /** The sandbox refused to run anything: blocked by SANDBOX with its reason (true). */
    boolean refusedBy(SandboxResult r) {
      if (!r.refused()) {
        return false;
      }
      log.warn("the sandbox refused to run action {} (task {}): {}", action.getActionId(),
          action.getTaskId(), r.error().message());
      blockedBy = BlockedBy.SANDBOX;
      totalDurationMs += r.durationMs();
      fail(categorizer.categorize(r.error(), false), r.error());
      return true;
    }

    /** The action breaks its input contract: nothing runs, no error event (it is the input's fault). */
    void brokenContract(List<InputLimits.Violation> broken) {
      blockedBy = BlockedBy.CONTRACT;
      contractOnly = true;
      String what = broken.stream().map(InputLimits.Violation::toString).collect(Collectors.joining("; "));
      log.warn("action {} (task {}) breaks its input contract and was not run: {}", action.getActionId(),
          action.getTaskId(), Bounded.text(what, Bounded.MESSAGE_CHARS));
      error = new PythonError(CONTRACT_VIOLATION, "the action breaks its input contract and was not run: "
          + what, null, null);
      blockingFindings = broken.stream().map(v -> Finding.newBuilder()
          .setType(FindingPolicy.CONTRACT_VIOLATION).setSeverity(Severity.HIGH).setLine(null)
          .setDescription(v.toString()).setAspect(Aspect.UNKNOWN).setBlocking(true).build()).toList();
      code = "";
      recordedAction = withinBounds(action, broken);
    }

    void blocked(BlockedBy by, List<Finding> findings, String why) {
      blockedBy = by;
      blockingFindings = findings;
      boolean contract = !findings.isEmpty() && findings.stream()
          .allMatch(f -> FindingPolicy.CONTRACT_VIOLATION.equals(f.getType()));
      String what = findings.isEmpty() ? "a security finding" : findings.stream()
          .map(f -> f.getType() + (f.getLine() == null ? "" : " at line " + f.getLine()) + ": " + f.getDescription())
          .collect(Collectors.joining("; "));
      if (contract) {
        // the plan rejected the task's input: not a failure of the code, no error event
        contractOnly = true;
        error = new PythonError(CONTRACT_VIOLATION, why + " and it was not run — " + what, null, null);
      } else {
        String type = findings.isEmpty() ? null : findings.get(0).getType();
        fail(categorizer.securityBlocked(type), new PythonError(ErrorCategorizer.SECURITY_BLOCKED,
            why + " and it was not run — " + what, null, findings.isEmpty() ? null : findings.get(0).getLine()));
      }
      if (code == null || code.isEmpty()) {
        code = action.getInput().getCode() == null ? "" : action.getInput().getCode();
      }
    }

    List<Outgoing> outputs() {
      boolean success = blockedBy == null && failure == null && error == null && last != null && last.success();
      ErrorDetail detail = detail(error);
      Evidence evidence = last == null ? null : last.evidence();
      boolean ran = last != null && blockedBy == null;
      ExecutionResult.Builder b = ExecutionResult.newBuilder()
          .setActionId(action.getActionId())
          .setTaskId(action.getTaskId())
          .setExecutorId(executorId)
          .setSuccess(success)
          .setExitCode(ran ? last.exitCode() : null)
          .setStdout(ran ? Bounded.utf8(last.stdout(), maxOutputBytes) : "")
          .setStdoutSize(ran ? last.stdoutSize() : 0)
          .setStderr(ran ? Bounded.utf8(last.stderr(), maxOutputBytes) : "")
          .setStderrSize(ran ? last.stderrSize() : 0)
          .setError(success ? null : detail)
          .setErrorCategory(success || failure == null ? null : failure.category())
          .setTimedOut(ran && last.timedOut())
          .setDurationMs(totalDurationMs)
          .setPeakMemoryKb(ran ? last.peakMemoryKb() : null)
          .setIsolation(ran ? last.isolation() : Isolation.NONE)
          .setIsolationLayers(ran ? last.layers() : List.of())
          .setAppliedRuleIds(new ArrayList<>(ruleIds))
          .setCode(code == null ? "" : code)
          .setEffectiveTimeoutMs(effectiveTimeoutMs)
          .setEffectiveMemoryMb(ran ? effectiveMemoryMb : 0)
          .setClipped(List.copyOf(clipped))
          .setBlockedBy(blockedBy)
          .setFindings(Bounded.findings(blockedBy == null ? List.of() : blockingFindings))
          .setSolutionCompleted(ran && evidence != null && evidence.solutionCompleted())
          .setTestsCompleted(ran && evidence != null && evidence.testsCompleted())
          .setAction(recordedAction)
          .setFinishedAt(Instant.ofEpochMilli(clock.millis()));
      List<Outgoing> out = new ArrayList<>();
      out.add(new Outgoing(catalog.executionResults().name(), action.getTaskId(), b.build()));
      if (!success && failure != null) {
        Map<String, String> ctx = new HashMap<>();
        ctx.put("action_type", action.getType().name());
        ctx.put("attempt", Integer.toString(action.getAttempt()));
        if (error != null && error.line() != null) {
          ctx.put("line", Integer.toString(error.line()));
        }
        if (!ruleIds.isEmpty()) {
          ctx.put("applied_rule_ids", String.join(",", ruleIds));
        }
        if (last != null && last.timedOut()) {
          ctx.put("timeout_ms", Long.toString(effectiveTimeoutMs));
        }
        if (blockedBy != null) {
          ctx.put("blocked_by", blockedBy.name());
          if (blockedBy != BlockedBy.SANDBOX) {
            ctx.put("blocked_aspect", Aspect.SECURITY.name());
          }
        }
        if (lacksSecurityAnalysis(action)) {
          ctx.put("security_analysis", "executor"); // the plan lacked it
        }
        if (rulesOff) {
          ctx.put(AppliedRules.RULES_ATTRIBUTE, AppliedRules.RULES_OFF);
        }
        String trialId = action.getTrial() == null ? null : action.getTrial().getTrialId();
        out.addAll(errors.log(new ErrorLogger.Failure(failure, detail == null ? "" : detail.getMessage(),
            action.getTaskId(), action.getActionId(), trialId, ctx)));
      }
      if (ran && !signals.isEmpty()) {
        // the code ran despite these findings (the sandbox confines it): an operator should know
        Severity severity = signals.stream().map(Finding::getSeverity).max(Enum::compareTo).orElse(Severity.MEDIUM);
        String what = signals.stream()
            .map(f -> f.getType() + (f.getLine() == null ? "" : " at line " + f.getLine()) + ": " + f.getDescription())
            .collect(Collectors.joining("; "));
        Map<String, String> ctx = new LinkedHashMap<>();
        ctx.put("finding_types", signals.stream().map(Finding::getType).distinct().collect(Collectors.joining(",")));
        ctx.put("isolation_layers", String.join(",", last.layers()));
        ctx.put("action_id", action.getActionId());
        out.add(errors.signal(action.getTaskId(), action.getActionId(), "findings", severity,
            ErrorCategory.SECURITY, "ran confined (" + String.join(", ", last.layers()) + ") despite "
                + "findings an operator should see: " + what, ctx));
      }
      return out;
    }
  }

  /** The action without the parts that broke a size bound, so its result stays small. */
  private static ActionItem withinBounds(ActionItem action, List<InputLimits.Violation> broken) {
    Set<String> contracts = broken.stream().map(InputLimits.Violation::contract).collect(Collectors.toSet());
    if (action.getInput() == null) {
      return action;
    }
    ExecutionInput in = action.getInput();
    ExecutionInput.Builder trimmed = ExecutionInput.newBuilder(in);
    if (contracts.contains("code-size")) {
      trimmed.setCode(null);
    }
    if (contracts.contains("test-code-size")) {
      trimmed.setTestCode(null);
    }
    if (contracts.contains("description-size")) {
      trimmed.setPrompt(null);
    }
    if (contracts.contains("entry-point")) {
      trimmed.setEntryPoint(Bounded.text(in.getEntryPoint(), 80));
    }
    ActionItem.Builder b = ActionItem.newBuilder(action).setInput(trimmed.build())
        .setFindings(Bounded.findings(action.getFindings()));
    if (contracts.contains("attributes")) {
      b.setAttributes(Map.of());
    }
    return b.build();
  }
}
