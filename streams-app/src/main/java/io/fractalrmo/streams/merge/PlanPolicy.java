package io.fractalrmo.streams.merge;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.ExecutionConstraints;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.Severity;
import io.fractalrmo.contracts.Task;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How the analyses of a task become its plan: every conflict rule in one place.
 *
 * <ol>
 *   <li><b>Security blocks.</b> A SECURITY finding of severity HIGH or CRITICAL, or one marked
 *       {@code blocking}, or a SECURITY analysis proposing BLOCK, makes the action a
 *       {@code BLOCK}: executors do not run it (they report a SECURITY failure) and the task
 *       status becomes REJECTED. Nothing else outranks this.</li>
 *   <li><b>No code, generate.</b> A task without candidate code gets GENERATE_CODE (the prompt
 *       is its description).</li>
 *   <li><b>Syntax findings fail fast, they are not fixed here.</b> FIX_SYNTAX needs a model, and
 *       the static analysis cannot repair code; so the action stays EXECUTE with the SYNTAX
 *       findings attached. The executor's run (or its PRE_VALIDATE_SYNTAX rule once learnt)
 *       reports the SyntaxError, which is how the pattern extractor learns that rule.</li>
 *   <li><b>Otherwise EXECUTE</b>, with every finding of every analysis attached (LOGIC,
 *       DEPENDENCY and PERFORMANCE findings inform the executor's rules, they never block).</li>
 * </ol>
 * Constraints come from the task: its {@code time_limit_ms} is the timeout, its
 * {@code memory_limit_mb} (else 512) the memory limit; network is never allowed. Aspects whose
 * analyses did not arrive are listed in {@code missing_aspects}. The task's {@code attributes}
 * are copied to the action unchanged, so an upstream system can speak to the agents (e.g.
 * {@value #RULES_ATTRIBUTE}{@code =off}: run this action without protocol rules).
 */
public final class PlanPolicy {

  /** The five aspects a complete plan waits for. */
  public static final Set<Aspect> ASPECTS = EnumSet.of(Aspect.SYNTAX, Aspect.LOGIC,
      Aspect.DEPENDENCY, Aspect.SECURITY, Aspect.PERFORMANCE);
  /**
   * Task/action attribute that switches protocol rules off for one action when it is
   * {@code off} (a measured comparison); trial items never carry it.
   */
  public static final String RULES_ATTRIBUTE = "fractal.rules";
  static final int DEFAULT_MEMORY_MB = 512;
  static final long DEFAULT_TIMEOUT_MS = 10_000;

  private PlanPolicy() {
  }

  /** The plan's id for a task: one plan per task, so re-planning is idempotent downstream. */
  public static String actionId(String taskId) {
    return taskId + ":plan:1";
  }

  public static ActionItem plan(Task task, Map<Aspect, AspectAnalysis> analyses, long now) {
    List<Finding> findings = new ArrayList<>();
    boolean block = false;
    for (AspectAnalysis analysis : analyses.values()) {
      for (Finding f : analysis.getIssues()) {
        Finding finding = f.getAspect() == Aspect.UNKNOWN
            ? Finding.newBuilder(f).setAspect(analysis.getAspect()).build() : f;
        findings.add(finding);
        block |= blocksExecution(finding);
      }
      block |= analysis.getAspect() == Aspect.SECURITY
          && analysis.getProposedActions().contains(ActionType.BLOCK);
    }
    List<Aspect> missing = ASPECTS.stream().filter(a -> !analyses.containsKey(a)).toList();
    String code = task.getCode();
    ActionType type = block ? ActionType.BLOCK
        : (code == null || code.isBlank()) ? ActionType.GENERATE_CODE : ActionType.EXECUTE;

    long timeout = task.getTimeLimitMs() > 0 ? task.getTimeLimitMs() : DEFAULT_TIMEOUT_MS;
    boolean slow = findings.stream().anyMatch(f -> f.getAspect() == Aspect.PERFORMANCE
        && f.getSeverity().ordinal() >= Severity.MEDIUM.ordinal());
    return ActionItem.newBuilder()
        .setActionId(actionId(task.getTaskId()))
        .setTaskId(task.getTaskId())
        .setSequence(1)
        .setType(type)
        .setPriority(task.getPriority())
        // A performance finding predicts a run near the limit; otherwise a tenth of it.
        .setEstimatedTimeMs(slow ? timeout : Math.max(1, timeout / 10))
        .setInput(ExecutionInput.newBuilder()
            .setCode(code)
            .setTestCode(task.getTestCode())
            .setEntryPoint(task.getEntryPoint())
            .setPrompt(code == null || code.isBlank() ? task.getDescription() : null)
            .build())
        .setConstraints(ExecutionConstraints.newBuilder()
            .setTimeoutMs(timeout)
            .setMemoryMb(task.getMemoryLimitMb() != null ? task.getMemoryLimitMb() : DEFAULT_MEMORY_MB)
            .setNetworkAllowed(false)
            .build())
        .setFindings(findings)
        .setMissingAspects(missing)
        .setAppliedRuleIds(List.of())
        .setAttempt(1)
        .setValidationLevel(task.getValidationLevel())
        .setTrial(null)
        .setAttributes(new LinkedHashMap<>(task.getAttributes()))
        .setCreatedAt(java.time.Instant.ofEpochMilli(now))
        .build();
  }

  static boolean blocksExecution(Finding f) {
    return f.getAspect() == Aspect.SECURITY
        && (f.getBlocking() || f.getSeverity().ordinal() >= Severity.HIGH.ordinal());
  }
}
