package io.fractalrmo.app.chaos;

import io.fractalrmo.app.demo.DemoRunner;
import io.fractalrmo.app.demo.Fault;
import io.fractalrmo.app.demo.FaultInjector;
import io.fractalrmo.app.demo.FaultedCode;
import io.fractalrmo.app.demo.HumanEvalProblems;
import io.fractalrmo.app.demo.Problem;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.streams.rules.RuleIds;
import io.fractalrmo.contracts.TaskState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The real tasks a chaos run feeds: HumanEval problems, most with their canonical solution, the
 * rest with a realistic fault injected by the demo's {@link FaultInjector}, each with the final
 * state it must reach. A canonical solution must SUCCEED; a wrong result or a syntax slip must
 * FAIL; a forbidden call must be REJECTED (blocked before it runs) — or, when the plan was made
 * without the security analysis (it did not arrive within the merge's bound, and the plan says
 * so), FAIL in the sandbox, which denies what the call attempts; a missing import (a slow solution)
 * FAILS unless a rule that adds imports (raises the time limit) was applied to it — then it must
 * SUCCEED: repairing it is what the rule is for; any other rule applied to it changes nothing.
 */
final class ChaosTasks {

  /** How a task enters the pipeline. */
  enum Via { KAFKA, OUTBOX }

  /**
   * One task of the run.
   *
   * @param taskId its id (the run id, a sequence number, the problem)
   * @param faulted the problem and its code
   * @param via whether it is produced to Kafka or inserted into the outbox table
   */
  record ChaosTask(String taskId, FaultedCode faulted, Via via) {

    Fault fault() {
      return faulted.fault();
    }

    /** The final state this task must reach, given the rules applied to it. */
    TaskState expected(List<String> appliedRuleIds) {
      return switch (fault()) {
        case NONE -> TaskState.SUCCEEDED;
        // blocked at plan time, or, when the plan lacked its SECURITY analysis, by the
        // executor's own analysis: never run either way
        case FORBIDDEN_CALL -> TaskState.REJECTED;
        // only a rule of the kind that repairs the fault makes it succeed: another ACTIVE rule
        // applied to the task (e.g. pre-validate-syntax) leaves the missing import missing
        case MISSING_IMPORT -> applied(appliedRuleIds, RuleActionKind.ADD_MISSING_IMPORTS)
            ? TaskState.SUCCEEDED : TaskState.FAILED;
        case SLOW -> applied(appliedRuleIds, RuleActionKind.INCREASE_TIMEOUT)
            ? TaskState.SUCCEEDED : TaskState.FAILED;
        case WRONG_RESULT, SYNTAX_SLIP -> TaskState.FAILED;
      };
    }

    /** Whether a rule of {@code kind} is among the applied ones. */
    static boolean applied(List<String> appliedRuleIds, RuleActionKind kind) {
      return appliedRuleIds.stream().anyMatch(id -> RuleIds.isOfKind(id, kind));
    }

    Task task(long timeLimitMs, long now) {
      return DemoRunner.task(taskId, faulted, timeLimitMs, Map.of("chaos.via", via.name()), now);
    }
  }

  /** Fault mix (out of 20): canonical 9, wrong result 4, syntax slip 2, missing import 3, forbidden 2. */
  private static final Fault[] MIX = {
      Fault.NONE, Fault.NONE, Fault.NONE, Fault.NONE, Fault.NONE, Fault.NONE, Fault.NONE,
      Fault.NONE, Fault.NONE, Fault.WRONG_RESULT, Fault.WRONG_RESULT, Fault.WRONG_RESULT,
      Fault.WRONG_RESULT, Fault.SYNTAX_SLIP, Fault.SYNTAX_SLIP, Fault.MISSING_IMPORT,
      Fault.MISSING_IMPORT, Fault.MISSING_IMPORT, Fault.FORBIDDEN_CALL, Fault.FORBIDDEN_CALL};

  private ChaosTasks() {
  }

  /** {@code n} tasks for run {@code runId}; every fourth one through the outbox. */
  static List<ChaosTask> plan(int n, long seed, String runId, long timeLimitMs) {
    List<Problem> problems = HumanEvalProblems.load().stream()
        .filter(ChaosTasks::innocuous).toList();
    FaultInjector injector = new FaultInjector(seed, timeLimitMs);
    SplittableRandom random = new SplittableRandom(seed);
    List<ChaosTask> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Fault fault = MIX[random.nextInt(MIX.length)];
      Optional<FaultedCode> code = Optional.empty();
      Problem problem = null;
      for (int attempt = 0; attempt < 50 && code.isEmpty(); attempt++) {
        problem = problems.get(random.nextInt(problems.size()));
        code = injector.inject(problem, fault);
      }
      if (code.isEmpty()) {
        code = injector.inject(problem, Fault.NONE);
      }
      String id = runId + "-" + i + "-" + problem.id().replace('/', '_');
      out.add(new ChaosTask(id, code.get(), i % 4 == 3 ? Via.OUTBOX : Via.KAFKA));
    }
    return out;
  }

  /**
   * Whether a problem's canonical solution is free of what the security analyzer blocks on
   * sight (eval, exec, imports of os or subprocess, open): a few HumanEval solutions use eval,
   * and such a task is rightly REJECTED, which would make "canonical must succeed" untrue.
   */
  static boolean innocuous(Problem p) {
    String code = p.canonicalCode();
    for (String risky : List.of("eval(", "exec(", "__import__", "import os", "subprocess",
        "open(", "compile(")) {
      if (code.contains(risky)) {
        return false;
      }
    }
    return true;
  }

  /** A canonical task used as a probe of end-to-end service (it must SUCCEED). */
  static ChaosTask canary(String taskId, long seed) {
    List<Problem> problems = HumanEvalProblems.load().stream()
        .filter(ChaosTasks::innocuous).toList();
    Problem problem = problems.get((int) Math.floorMod(seed, (long) problems.size()));
    FaultedCode code = new FaultInjector(seed, 1_000).inject(problem, Fault.NONE).orElseThrow();
    return new ChaosTask(taskId, code, Via.KAFKA);
  }
}
