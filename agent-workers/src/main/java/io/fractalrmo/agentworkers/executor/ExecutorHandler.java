package io.fractalrmo.agentworkers.executor;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper.MissingName;
import io.fractalrmo.agentworkers.errors.Categorized;
import io.fractalrmo.agentworkers.errors.ErrorCategorizer;
import io.fractalrmo.agentworkers.errors.ErrorLogger;
import io.fractalrmo.agentworkers.rules.RuleBook;
import io.fractalrmo.agentworkers.sandbox.Program;
import io.fractalrmo.agentworkers.sandbox.PythonError;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.sandbox.SandboxLimits;
import io.fractalrmo.agentworkers.sandbox.SandboxResult;
import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.agentworkers.worker.RecordHandler;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.ErrorDetail;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.Isolation;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.Severity;
import io.fractalrmo.contracts.TopicCatalog;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
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
 * <p>EXECUTE runs solution + test_code + {@code check(entry_point)} as one program. Rules (see
 * {@link AppliedRules}): BLOCK_AND_ALERT refuses actions with matching findings;
 * PRE_VALIDATE_SYNTAX compiles first and fails fast without the sandbox; ADD_MISSING_IMPORTS adds
 * imports for unbound names that are standard-library modules or typing names before the run, and
 * once more after a NameError for such a name (one re-run); INCREASE_TIMEOUT re-runs a timed-out
 * action once with a longer (bounded) timeout; PROMPT_GUIDELINE goes to the model backend. A BLOCK
 * action is not run. Without code and without a model backend, the action fails with a
 * DEPENDENCY error — code is never invented. FIX_SYNTAX asks the model backend (when there is one)
 * for a corrected version of code that does not compile; without one the code runs as it is.
 *
 * <p>Several ADD_MISSING_IMPORTS rules may apply (one per module, e.g. {@code typing} and
 * {@code math}): each missing name is imported by the first rule allowing its module (a trial's
 * TREATMENT candidate first), and {@code applied_rule_ids} lists every rule that added an import.
 *
 * <p>An action whose attributes hold {@code fractal.rules=off} runs without any protocol rule
 * (neither active rules nor a trial candidate); its {@code applied_rule_ids} stay empty. The
 * security checks below are not protocol rules and still apply.
 *
 * <p>Fail-safe: a plan made without its SECURITY analysis ({@code missing_aspects} contains
 * SECURITY, e.g. when the merge planned a task before that analysis arrived) is not trusted. The
 * executor runs the SECURITY analysis of the code itself before executing; a blocking or HIGH
 * (or worse) SECURITY finding stops the action exactly like a BLOCK action (not run, failed
 * SECURITY result with error type SecurityBlocked, the finding type as fix key, and an alert).
 * Its other SECURITY findings join the action's findings for BLOCK_AND_ALERT rules.
 */
public final class ExecutorHandler implements RecordHandler<ActionItem> {

  private static final Logger log = LoggerFactory.getLogger(ExecutorHandler.class);

  private final String executorId;
  private final TopicCatalog catalog;
  private final PythonSandbox sandbox;
  private final PythonAnalysisHelper helper;
  private final RuleBook rules;
  private final CodeGenerator generator;
  private final Clock clock;
  private final ErrorCategorizer categorizer;
  private final ErrorLogger errors;

  /** {@code generator} may be null: then actions without code fail with a DEPENDENCY error. */
  public ExecutorHandler(String executorId, TopicCatalog catalog, PythonSandbox sandbox,
      PythonAnalysisHelper helper, RuleBook rules, CodeGenerator generator, Clock clock) {
    this.executorId = executorId;
    this.catalog = catalog;
    this.sandbox = sandbox;
    this.helper = helper;
    this.rules = rules;
    this.generator = generator;
    this.clock = clock;
    this.categorizer = new ErrorCategorizer(helper.names());
    this.errors = new ErrorLogger(executorId, "executor", catalog, clock);
  }

  @Override
  public List<Outgoing> handle(String key, ActionItem action) {
    Run run = new Run(action);
    try {
      execute(run);
    } catch (RuntimeException e) {
      log.warn("action {} could not be executed: {}", action.getActionId(), e.toString());
      run.fail(new Categorized(io.fractalrmo.contracts.ErrorCategory.RUNTIME, "SandboxError", null),
          new PythonError("SandboxError", String.valueOf(e.getMessage()), null, null));
    }
    return run.outputs();
  }

  private void execute(Run run) {
    ActionItem action = run.action;
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
      List<Finding> blocking = action.getFindings().stream()
          .filter(f -> f.getBlocking() || f.getSeverity().compareTo(Severity.HIGH) >= 0)
          .toList();
      run.blocked(blocking, "the plan blocked this action");
      return;
    }

    String code = in.getCode();
    boolean hasCode = code != null && !code.isBlank();
    List<Finding> findings = action.getFindings();
    boolean unanalysed = lacksSecurityAnalysis(action);
    if (unanalysed && hasCode) {
      Optional<List<Finding>> own = ownSecurityAnalysis(run, code);
      if (own.isEmpty()) {
        return; // blocked
      }
      findings = concat(findings, own.get());
    }
    if (blockedByRule(run, applied, findings)) {
      return;
    }

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
        run.fail(new Categorized(io.fractalrmo.contracts.ErrorCategory.DEPENDENCY, "ModelBackendError",
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
        run.fail(new Categorized(io.fractalrmo.contracts.ErrorCategory.DEPENDENCY, "ModelBackendError",
            "model-backend"), new PythonError("ModelBackendError",
            "the model backend did not return a fix: " + e.getMessage(), null, null));
        return;
      }
    }
    if (unanalysed && code != null && !code.equals(in.getCode())) {
      // code from the model backend: no analysis ever saw it, and the plan lacked the SECURITY one
      Optional<List<Finding>> own = ownSecurityAnalysis(run, code);
      if (own.isEmpty()) {
        return; // blocked
      }
      run.code = code;
      if (blockedByRule(run, applied, own.get())) {
        return;
      }
    }
    run.code = code;

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

    SandboxLimits limits = SandboxLimits.from(action.getConstraints());
    SandboxResult r = sandbox.run(Program.withTests(run.code, in.getTestCode(), in.getEntryPoint()), limits);
    run.record(r, limits.timeoutMs());

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
        r = sandbox.run(Program.withTests(run.code, in.getTestCode(), in.getEntryPoint()), limits);
        run.record(r, limits.timeoutMs());
      }
    }

    Optional<AppliedRules.Rule> timeout = applied.first(RuleActionKind.INCREASE_TIMEOUT);
    if (r.timedOut() && timeout.isPresent()) {
      long longer = AppliedRules.increasedTimeout(timeout.get(), limits.timeoutMs());
      if (longer > limits.timeoutMs()) {
        run.ruleIds.add(timeout.get().ruleId());
        SandboxLimits more = limits.withTimeoutMs(longer);
        r = sandbox.run(Program.withTests(run.code, in.getTestCode(), in.getEntryPoint()), more);
        run.record(r, longer);
      }
    }
    if (!r.success()) {
      PythonError error = r.error() != null ? r.error()
          : new PythonError("ExitStatus", "the program exited with status " + r.exitCode(), null, null);
      run.fail(categorizer.categorize(error, r.timedOut()), error);
    }
  }

  /** BLOCK_AND_ALERT: the first rule with a matching finding blocks the action (true). */
  private static boolean blockedByRule(Run run, AppliedRules applied, List<Finding> findings) {
    for (AppliedRules.Rule r : applied.all(RuleActionKind.BLOCK_AND_ALERT)) {
      List<Finding> hit = AppliedRules.blockedFindings(r, findings);
      if (!hit.isEmpty()) {
        run.ruleIds.add(r.ruleId());
        run.blocked(hit, "rule " + r.ruleId() + " (BLOCK_AND_ALERT) blocked this action");
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

  /** What the plan would have done with a SECURITY finding: block on blocking or HIGH+. */
  static boolean blocksExecution(Finding f) {
    return f.getAspect() == Aspect.SECURITY
        && (f.getBlocking() || f.getSeverity().compareTo(Severity.HIGH) >= 0);
  }

  /**
   * The SECURITY analysis the plan lacked, run here on {@code code}: empty when a finding blocks
   * the action (then {@code run} is blocked), else the (non-blocking) findings. A helper that
   * cannot analyse fails the action (nothing unanalysed runs).
   */
  private Optional<List<Finding>> ownSecurityAnalysis(Run run, String code) {
    ActionItem action = run.action;
    run.ownSecurityAnalysis = true;
    List<Finding> own;
    try {
      own = helper.analyze(code, List.of(Aspect.SECURITY)).findings().stream()
          .filter(f -> f.getAspect() == Aspect.SECURITY)
          .toList();
    } catch (RuntimeException e) {
      throw new IllegalStateException("the plan lacked its SECURITY analysis and the executor could not "
          + "analyse the code itself, so it was not run: " + e.getMessage(), e);
    }
    List<Finding> blocking = own.stream().filter(ExecutorHandler::blocksExecution).toList();
    log.info("the plan of action {} (task {}) lacked its SECURITY analysis (missing aspects {}): the executor "
        + "analysed the code itself: {} finding(s), {} blocking{}", action.getActionId(), action.getTaskId(),
        action.getMissingAspects(), own.size(), blocking.size(), blocking.isEmpty() ? "" : " — not run");
    if (!blocking.isEmpty()) {
      run.code = code;
      run.blocked(blocking, "the plan lacked its SECURITY analysis; the executor's own SECURITY analysis "
          + "blocked this action");
      return Optional.empty();
    }
    return Optional.of(own);
  }

  private static List<Finding> concat(List<Finding> a, List<Finding> b) {
    if (b.isEmpty()) {
      return a;
    }
    List<Finding> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  /** The state of one action's execution. */
  private final class Run {
    final ActionItem action;
    final Set<String> ruleIds;
    final boolean rulesOff;
    boolean ownSecurityAnalysis;
    String code = "";
    SandboxResult last;
    long totalDurationMs;
    long effectiveTimeoutMs;
    Categorized failure;
    PythonError error;
    boolean securityBlocked;

    Run(ActionItem action) {
      this.action = action;
      this.rulesOff = AppliedRules.rulesOff(action);
      // rules off: no rule applies, so none is reported (even one a producer may have listed)
      this.ruleIds = rulesOff ? new LinkedHashSet<>() : new LinkedHashSet<>(action.getAppliedRuleIds());
      this.effectiveTimeoutMs = action.getConstraints().getTimeoutMs();
    }

    void record(SandboxResult r, long timeoutMs) {
      last = r;
      totalDurationMs += r.durationMs();
      effectiveTimeoutMs = timeoutMs;
    }

    void fail(Categorized c, PythonError e) {
      failure = c;
      error = e;
    }

    void blocked(List<Finding> findings, String why) {
      securityBlocked = true;
      String what = findings.isEmpty() ? "a security finding" : findings.stream()
          .map(f -> f.getType() + (f.getLine() == null ? "" : " at line " + f.getLine()) + ": " + f.getDescription())
          .collect(Collectors.joining("; "));
      String type = findings.isEmpty() ? null : findings.get(0).getType();
      fail(categorizer.securityBlocked(type), new PythonError(ErrorCategorizer.SECURITY_BLOCKED,
          why + " and it was not run — " + what, null, findings.isEmpty() ? null : findings.get(0).getLine()));
      if (code == null || code.isEmpty()) {
        code = action.getInput().getCode() == null ? "" : action.getInput().getCode();
      }
    }

    List<Outgoing> outputs() {
      boolean success = failure == null && last != null && last.success();
      ErrorDetail detail = error == null ? null : error.toDetail();
      ExecutionResult.Builder b = ExecutionResult.newBuilder()
          .setActionId(action.getActionId())
          .setTaskId(action.getTaskId())
          .setExecutorId(executorId)
          .setSuccess(success)
          .setExitCode(last == null ? null : last.exitCode())
          .setStdout(last == null ? "" : last.stdout())
          .setStdoutSize(last == null ? 0 : last.stdoutSize())
          .setStderr(last == null ? "" : last.stderr())
          .setStderrSize(last == null ? 0 : last.stderrSize())
          .setError(success ? null : detail)
          .setErrorCategory(success || failure == null ? null : failure.category())
          .setTimedOut(last != null && last.timedOut())
          .setDurationMs(totalDurationMs)
          .setPeakMemoryKb(last == null ? null : last.peakMemoryKb())
          .setIsolation(last == null ? Isolation.NONE : last.isolation())
          .setAppliedRuleIds(new ArrayList<>(ruleIds))
          .setCode(code == null ? "" : code)
          .setEffectiveTimeoutMs(effectiveTimeoutMs)
          .setAction(action)
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
        if (securityBlocked) {
          ctx.put("blocked_aspect", Aspect.SECURITY.name());
        }
        if (ownSecurityAnalysis) {
          ctx.put("security_analysis", "executor"); // the plan lacked it
        }
        if (rulesOff) {
          ctx.put(AppliedRules.RULES_ATTRIBUTE, AppliedRules.RULES_OFF);
        }
        String trialId = action.getTrial() == null ? null : action.getTrial().getTrialId();
        out.addAll(errors.log(new ErrorLogger.Failure(failure, error == null ? "" : error.message(),
            action.getTaskId(), action.getActionId(), trialId, ctx)));
      }
      return out;
    }
  }
}
