package io.fractalrmo.agentworkers.analyzer;

import io.fractalrmo.agentworkers.errors.Categorized;
import io.fractalrmo.agentworkers.errors.ErrorLogger;
import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.agentworkers.worker.RecordHandler;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.Bounded;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.contracts.Severity;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One analyzer of the swarm: static analysis of a task's Python code for one {@link Aspect},
 * producing an {@link AspectAnalysis} for {@code fractal.analyses} (key = task id). SECURITY and
 * DEPENDENCY cover everything that will run: the solution, the test code and the program they
 * make together ({@link PythonAnalysisHelper#analyzeProgram}); a SECURITY finding is marked
 * blocking as {@link io.fractalrmo.contracts.FindingPolicy} decides. The analysis itself runs in
 * a {@link PythonAnalysisHelper} (in a role, one request per task shared by the process's
 * analyzers: {@link SharedAnalyses}); when it cannot run, the analysis says so in {@code error} and
 * an ErrorEvent is logged. Code or tests over the operator's size limits are not analysed (the
 * plan rejects such a task).
 */
public final class AspectAnalyzer implements RecordHandler<Task> {

  private final Aspect aspect;
  private final String analyzerId;
  private final TopicCatalog catalog;
  private final ProgramAnalysis analysis;
  private final ErrorLogger errors;
  private final Clock clock;
  private final InputLimits limits;

  public AspectAnalyzer(Aspect aspect, String analyzerId, TopicCatalog catalog,
      PythonAnalysisHelper helper, Clock clock) {
    this(aspect, analyzerId, catalog, helper, clock, InputLimits.defaults());
  }

  /** {@code limits}: code or tests over their maximum are not analysed (the plan rejects them). */
  public AspectAnalyzer(Aspect aspect, String analyzerId, TopicCatalog catalog,
      PythonAnalysisHelper helper, Clock clock, InputLimits limits) {
    this(aspect, analyzerId, catalog,
        (taskId, code, tests, entry) -> helper.analyzeProgram(code, tests, entry, List.of(aspect)),
        clock, limits);
  }

  /**
   * Taking its report from the analysis the process's analyzers share (one helper request and
   * one parse per task for every aspect, see {@link SharedAnalyses}).
   */
  public AspectAnalyzer(Aspect aspect, String analyzerId, TopicCatalog catalog,
      SharedAnalyses shared, Clock clock, InputLimits limits) {
    this(aspect, analyzerId, catalog,
        (taskId, code, tests, entry) -> shared.analyze(aspect, taskId, code, tests, entry),
        clock, limits);
  }

  /** How this analyzer gets the helper's report of a task's program for its aspect. */
  @FunctionalInterface
  interface ProgramAnalysis {
    PythonAnalysisHelper.Report analyze(String taskId, String code, String tests, String entry);
  }

  private AspectAnalyzer(Aspect aspect, String analyzerId, TopicCatalog catalog,
      ProgramAnalysis analysis, Clock clock, InputLimits limits) {
    this.limits = limits;
    if (aspect == Aspect.UNKNOWN) {
      throw new IllegalArgumentException("an analyzer needs a concrete aspect");
    }
    this.aspect = aspect;
    this.analyzerId = analyzerId;
    this.catalog = catalog;
    this.analysis = analysis;
    this.clock = clock;
    this.errors = new ErrorLogger(analyzerId, "analyzer", catalog, clock);
  }

  public Aspect aspect() {
    return aspect;
  }

  @Override
  public List<Outgoing> handle(String key, Task task) {
    long started = System.nanoTime();
    AspectAnalysis.Builder b = AspectAnalysis.newBuilder()
        .setTaskId(task.getTaskId())
        .setAnalyzerId(analyzerId)
        .setAspect(aspect);
    List<Outgoing> out = new ArrayList<>();
    String code = task.getCode();
    String tests = task.getTestCode();
    boolean hasCode = code != null && !code.isBlank();
    boolean hasTests = tests != null && !tests.isBlank();
    // the tests run too: their SECURITY and DEPENDENCY are analysed even when code is generated
    boolean testsOnly = !hasCode && hasTests
        && (aspect == Aspect.SECURITY || aspect == Aspect.DEPENDENCY);
    List<InputLimits.Violation> oversized = limits.violations(task).stream()
        .filter(v -> v.contract().endsWith("-size")).toList();
    if (!oversized.isEmpty()) {
      // analysing megabytes of code costs the swarm; the plan rejects the task anyway
      b.setConfidence(0.0).setIssues(List.of())
          .setRecommendations(List.of(Bounded.text("Not analysed: the task breaks its input "
              + "contract (" + oversized + "), so the plan rejects it.", Bounded.MESSAGE_CHARS)))
          .setProposedActions(List.of());
    } else if (!hasCode && !testsOnly) {
      b.setConfidence(1.0)
          .setIssues(List.of())
          .setRecommendations(List.of("The task has no code: it must be generated by the model backend."))
          .setProposedActions(List.of(ActionType.GENERATE_CODE));
    } else {
      try {
        String entry = InputLimits.isPythonIdentifier(task.getEntryPoint()) ? task.getEntryPoint() : null;
        PythonAnalysisHelper.Report report = analysis.analyze(task.getTaskId(),
            hasCode ? code : "", tests, entry);
        List<Finding> issues = report.findings();
        ActionType proposed = proposedAction(issues);
        b.setIssues(issues)
            .setConfidence(report.parsed() || aspect == Aspect.SYNTAX ? 0.9 : 0.3)
            .setRecommendations(recommendations(issues, report))
            .setProposedActions(List.of(!hasCode && proposed == ActionType.EXECUTE
                ? ActionType.GENERATE_CODE : proposed));
      } catch (RuntimeException e) {
        b.setConfidence(0.0).setIssues(List.of()).setRecommendations(List.of())
            .setProposedActions(List.of())
            .setError(Bounded.text("analysis could not run: " + e.getMessage(), Bounded.MESSAGE_CHARS));
        out.addAll(errors.log(new ErrorLogger.Failure(
            new Categorized(ErrorCategory.RUNTIME, "AnalyzerFailure", aspect.name()),
            e.getMessage(), task.getTaskId(), "analysis:" + aspect + ":" + task.getTaskId(), null,
            Map.of("aspect", aspect.name()))));
      }
    }
    b.setDurationMs((System.nanoTime() - started) / 1_000_000).setAnalyzedAt(Instant.ofEpochMilli(clock.millis()));
    out.add(0, new Outgoing(catalog.analyses().name(), task.getTaskId(), b.build()));
    return out;
  }

  private static ActionType proposedAction(List<Finding> issues) {
    boolean blockingSecurity = issues.stream()
        .anyMatch(f -> f.getBlocking() && f.getAspect() == Aspect.SECURITY);
    if (blockingSecurity) {
      return ActionType.BLOCK;
    }
    boolean syntax = issues.stream().anyMatch(f -> f.getBlocking() && f.getAspect() == Aspect.SYNTAX);
    return syntax ? ActionType.FIX_SYNTAX : ActionType.EXECUTE;
  }

  private static List<String> recommendations(List<Finding> issues, PythonAnalysisHelper.Report report) {
    List<String> recs = new ArrayList<>();
    for (Finding f : issues) {
      if (f.getSeverity().compareTo(Severity.MEDIUM) >= 0) {
        recs.add(f.getDescription());
      }
    }
    if (!report.parsed() && report.note() != null) {
      recs.add("Fix the syntax first: " + report.note());
    }
    return recs;
  }
}
