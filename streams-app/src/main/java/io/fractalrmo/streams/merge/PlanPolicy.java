package io.fractalrmo.streams.merge;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.Bounded;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ExecutionConstraints;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.FindingPolicy;
import io.fractalrmo.contracts.FindingPolicy.Confinement;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.contracts.Severity;
import io.fractalrmo.contracts.Task;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * How the analyses of a task become its plan: every conflict rule in one place.
 *
 * <ol>
 *   <li><b>The input contract first.</b> A task that breaks it ({@link InputLimits#violations}:
 *       entry point not a Python identifier, code/tests/description over the operator's size
 *       limits, unknown language, priority or validation level out of range, ...) is planned as
 *       a {@code BLOCK} with one {@link FindingPolicy#CONTRACT_VIOLATION} finding per broken
 *       contract: nothing runs, the task is REJECTED with the reasons. Its action carries no
 *       part of the input that broke a bound, so the rejection itself stays small.</li>
 *   <li><b>Security blocks.</b> A finding {@link FindingPolicy} blocks (confined column: the
 *       plan cannot know an executor's sandbox; an executor without confinement applies the
 *       stricter column itself), or a SECURITY analysis proposing BLOCK, makes the action a
 *       {@code BLOCK}: executors do not run it and the task status becomes REJECTED. Other
 *       SECURITY findings are signals the executor alerts on or records.</li>
 *   <li><b>No code, generate.</b> A task without candidate code gets GENERATE_CODE (the prompt
 *       is its description).</li>
 *   <li><b>Syntax findings fail fast, they are not fixed here.</b> FIX_SYNTAX needs a model, and
 *       the static analysis cannot repair code; so the action stays EXECUTE with the SYNTAX
 *       findings attached. The executor's run (or its PRE_VALIDATE_SYNTAX rule once learnt)
 *       reports the SyntaxError, which is how the pattern extractor learns that rule.</li>
 *   <li><b>Otherwise EXECUTE</b>, with the findings of every analysis attached (at most
 *       {@link Bounded#MAX_FINDINGS}; LOGIC, DEPENDENCY and PERFORMANCE findings inform the
 *       executor's rules, they never block).</li>
 * </ol>
 * Constraints come from the task, clipped to the operator's maxima: its {@code time_limit_ms}
 * (0 = {@value #DEFAULT_TIMEOUT_MS} ms) and {@code memory_limit_mb} (else 512), each at most the
 * maximum, with the request recorded in {@code requested_timeout_ms}/{@code requested_memory_mb}
 * when it was clipped; output kept and processes per the limits; network is never allowed.
 * Aspects whose analyses did not arrive are listed in {@code missing_aspects}. The task's
 * {@code attributes} are copied to the action unchanged, so an upstream system can speak to the
 * agents (e.g. {@value #RULES_ATTRIBUTE}{@code =off}: run this action without protocol rules).
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

  /** {@link #plan(Task, Map, long, InputLimits)} with the default limits. */
  public static ActionItem plan(Task task, Map<Aspect, AspectAnalysis> analyses, long now) {
    return plan(task, analyses, now, InputLimits.defaults());
  }

  public static ActionItem plan(Task task, Map<Aspect, AspectAnalysis> analyses, long now,
      InputLimits limits) {
    List<Aspect> missing = ASPECTS.stream().filter(a -> !analyses.containsKey(a)).toList();
    List<InputLimits.Violation> broken = limits.violations(task);
    if (!broken.isEmpty()) {
      return rejected(task, broken, missing, now, limits);
    }
    List<Finding> findings = new ArrayList<>();
    boolean block = false;
    for (AspectAnalysis analysis : analyses.values()) {
      for (Finding f : analysis.getIssues()) {
        Finding finding = f.getAspect() == Aspect.UNKNOWN
            ? Finding.newBuilder(f).setAspect(analysis.getAspect()).build() : f;
        findings.add(finding);
        block |= FindingPolicy.blocks(finding, Confinement.CONFINED);
      }
      block |= analysis.getAspect() == Aspect.SECURITY
          && analysis.getProposedActions().contains(ActionType.BLOCK);
    }
    String code = task.getCode();
    ActionType type = block ? ActionType.BLOCK
        : (code == null || code.isBlank()) ? ActionType.GENERATE_CODE : ActionType.EXECUTE;

    long requestedTimeout = task.getTimeLimitMs() > 0 ? task.getTimeLimitMs() : DEFAULT_TIMEOUT_MS;
    long timeout = limits.clipTimeLimit(requestedTimeout);
    int requestedMemory = task.getMemoryLimitMb() != null ? task.getMemoryLimitMb()
        : Math.min(DEFAULT_MEMORY_MB, limits.maxMemoryMb());
    int memory = limits.clipMemory(requestedMemory);
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
            .setMemoryMb(memory)
            .setMaxProcesses(limits.maxProcesses())
            .setMaxOutputBytes(limits.maxOutputBytes())
            .setNetworkAllowed(false)
            .setRequestedTimeoutMs(timeout < requestedTimeout ? requestedTimeout : null)
            .setRequestedMemoryMb(memory < requestedMemory ? requestedMemory : null)
            .build())
        .setFindings(Bounded.findings(findings))
        .setMissingAspects(missing)
        .setAppliedRuleIds(List.of())
        .setAttempt(1)
        .setValidationLevel(task.getValidationLevel())
        .setTrial(null)
        .setAttributes(new LinkedHashMap<>(task.getAttributes()))
        .setCreatedAt(java.time.Instant.ofEpochMilli(now))
        .build();
  }

  /**
   * A BLOCK for a task that breaks the input contract. Only the parts of the input within their
   * bounds are kept (a rejected 900 KB program must not make a 900 KB action).
   */
  private static ActionItem rejected(Task task, List<InputLimits.Violation> broken,
      List<Aspect> missing, long now, InputLimits limits) {
    List<Finding> findings = broken.stream().map(PlanPolicy::contractFinding).toList();
    Set<String> contracts = broken.stream().map(InputLimits.Violation::contract)
        .collect(Collectors.toSet());
    boolean attributesOk = !contracts.contains("attributes");
    return ActionItem.newBuilder()
        .setActionId(actionId(task.getTaskId()))
        .setTaskId(task.getTaskId())
        .setSequence(1)
        .setType(ActionType.BLOCK)
        .setPriority(Math.max(1, Math.min(5, task.getPriority())))
        .setEstimatedTimeMs(0)
        .setInput(ExecutionInput.newBuilder()
            .setCode(contracts.contains("code-size") ? null : task.getCode())
            .setTestCode(contracts.contains("test-code-size") ? null : task.getTestCode())
            .setEntryPoint(contracts.contains("entry-point") ? null : task.getEntryPoint())
            .setPrompt(null)
            .build())
        .setConstraints(ExecutionConstraints.newBuilder()
            .setTimeoutMs(limits.clipTimeLimit(DEFAULT_TIMEOUT_MS))
            .setMemoryMb(limits.clipMemory(DEFAULT_MEMORY_MB))
            .setMaxProcesses(limits.maxProcesses())
            .setMaxOutputBytes(limits.maxOutputBytes())
            .setNetworkAllowed(false)
            .build())
        .setFindings(Bounded.findings(findings))
        .setMissingAspects(missing)
        .setAppliedRuleIds(List.of())
        .setAttempt(1)
        .setValidationLevel(Math.max(1, Math.min(4, task.getValidationLevel())))
        .setTrial(null)
        .setAttributes(attributesOk ? new LinkedHashMap<>(task.getAttributes()) : Map.of())
        .setCreatedAt(java.time.Instant.ofEpochMilli(now))
        .build();
  }

  static Finding contractFinding(InputLimits.Violation v) {
    return Bounded.finding(Finding.newBuilder()
        .setType(FindingPolicy.CONTRACT_VIOLATION)
        .setSeverity(Severity.HIGH)
        .setLine(null)
        .setDescription(v.toString())
        .setAspect(Aspect.UNKNOWN)
        .setBlocking(true)
        .build());
  }

  /**
   * Why a BLOCK plan was made, for the task's status: the broken contracts, or the blocking
   * findings (type, where, what), bounded.
   */
  public static String rejectionReason(ActionItem block) {
    List<Finding> blocking = FindingPolicy.blocking(block.getFindings(), Confinement.CONFINED);
    List<Finding> shown = blocking.isEmpty() ? block.getFindings() : blocking;
    boolean contract = !shown.isEmpty() && shown.stream()
        .allMatch(f -> FindingPolicy.CONTRACT_VIOLATION.equals(f.getType()));
    String what = shown.isEmpty() ? "blocked by the plan" : shown.stream()
        .map(f -> contract ? f.getDescription() : f.getType()
            + (f.getLine() == null ? "" : " at line " + f.getLine()) + ": " + f.getDescription())
        .collect(Collectors.joining("; "));
    return Bounded.text((contract ? "the task breaks its input contract, nothing was run: "
        : "blocked by security findings, nothing was run: ") + what, Bounded.MESSAGE_CHARS);
  }

  /** The category a BLOCK plan's task is rejected under: SECURITY unless only contracts broke. */
  public static ErrorCategory rejectionCategory(ActionItem block) {
    boolean contractOnly = !block.getFindings().isEmpty() && block.getFindings().stream()
        .allMatch(f -> FindingPolicy.CONTRACT_VIOLATION.equals(f.getType()));
    return contractOnly ? null : ErrorCategory.SECURITY;
  }

  /** Whether the plan (confined column of {@link FindingPolicy}) blocks on {@code f}. */
  static boolean blocksExecution(Finding f) {
    return FindingPolicy.blocks(f, Confinement.CONFINED);
  }
}
