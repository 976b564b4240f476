package io.fractalrmo.app.demo;

import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset;
import java.util.List;

/**
 * The 164 HumanEval problems (MIT, OpenAI) as the demo uses them, read through
 * {@link HumanEvalDataset} from the one copy the agent-workers jar carries.
 */
public final class HumanEvalProblems {

  private HumanEvalProblems() {
  }

  /** Every problem, in dataset order. */
  public static List<Problem> load() {
    return HumanEvalDataset.load().stream()
        .map(p -> new Problem(p.taskId(), p.prompt(), p.canonicalSolution(), p.test(),
            p.entryPoint()))
        .toList();
  }
}
