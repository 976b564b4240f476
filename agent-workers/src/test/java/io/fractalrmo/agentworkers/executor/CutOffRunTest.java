package io.fractalrmo.agentworkers.executor;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.agentworkers.validator.ValidatorHandler;
import io.fractalrmo.agentworkers.worker.CutOffException;
import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Isolation;
import io.fractalrmo.contracts.TopicCatalog;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A run cut off by the worker's stop (the handler thread interrupted while its sandbox spins) is
 * not a result: the executor and the validator produce neither a result nor an error event, they
 * throw {@link CutOffException}, which the worker neither commits nor dead-letters.
 */
class CutOffRunTest {

  static final TopicCatalog CATALOG = TopicCatalog.withPrefix("t-cutoff.");
  static final String SPIN = "def add(a, b):\n    return a + b\n\nwhile True:\n    pass\n";
  static final String CHECK = "def check(candidate):\n    assert candidate(2, 3) == 5\n";

  static PythonSandbox sandbox;
  static PythonAnalysisHelper helper;

  @BeforeAll
  static void start() {
    sandbox = PythonSandbox.create();
    helper = new PythonAnalysisHelper();
  }

  @AfterAll
  static void stop() {
    sandbox.close();
    helper.close();
  }

  static ActionItem spinning() {
    return Actions.execute(SPIN, CHECK, "add").setConstraints(Actions.constraints(55_000)).build();
  }

  @Test
  void shouldProduceNoResultAndNoErrorWhenTheExecutorsRunIsCutOff() throws Exception {
    ExecutorHandler executor = new ExecutorHandler("executor-cutoff", CATALOG, sandbox, helper,
        List::of, null, Clock.systemUTC());
    ActionItem a = spinning();
    Throwable thrown = interruptWhileSandboxRuns(() -> executor.handle(a.getTaskId(), a));
    assertThat(thrown).isInstanceOf(CutOffException.class)
        .hasMessageContaining(a.getActionId());
  }

  @Test
  void shouldProduceNoOutcomeAndNoErrorWhenTheValidatorsRunIsCutOff() throws Exception {
    ValidatorHandler validator = new ValidatorHandler("validator-cutoff", CATALOG, sandbox, helper,
        Clock.systemUTC());
    ActionItem a = spinning();
    ExecutionResult executed = ExecutionResult.newBuilder().setActionId(a.getActionId())
        .setTaskId(a.getTaskId()).setExecutorId("e").setSuccess(true).setDurationMs(12)
        .setIsolation(Isolation.BUBBLEWRAP).setCode(SPIN).setEffectiveTimeoutMs(55_000)
        .setAction(a).setAppliedRuleIds(List.of()).setFinishedAt(Instant.now()).build();
    Throwable thrown = interruptWhileSandboxRuns(() -> validator.handle(a.getTaskId(), executed));
    assertThat(thrown).isInstanceOf(CutOffException.class)
        .hasMessageContaining(a.getActionId());
  }

  /**
   * Runs {@code handle} on a thread of its own, interrupts it once the thread waits inside the
   * sandbox (as the worker's stop does), and returns what it threw; fails when it returned
   * outputs instead, or did not end within a generous deadline.
   */
  private static Throwable interruptWhileSandboxRuns(Callable<List<Outgoing>> handle)
      throws Exception {
    CompletableFuture<List<Outgoing>> done = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        done.complete(handle.call());
      } catch (Throwable e) {
        done.completeExceptionally(e);
      }
    }, "cut-off-handler");
    t.start();
    Eventually.await(Duration.ofSeconds(60), () -> inSandboxRun(t) || done.isDone(),
        () -> "the handler reaches the sandbox's run");
    assertThat(done).as("the handler still runs the spinning program").isNotDone();
    t.interrupt();
    try {
      List<Outgoing> out = done.get(30, TimeUnit.SECONDS);
      throw new AssertionError("a cut-off run produced outputs: " + out);
    } catch (ExecutionException e) {
      return e.getCause();
    } finally {
      t.join(TimeUnit.SECONDS.toMillis(30));
    }
  }

  /** The thread waits (for the launcher's answer) inside {@code PythonSandbox.run}. */
  private static boolean inSandboxRun(Thread t) {
    Thread.State s = t.getState();
    return (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING)
        && Arrays.stream(t.getStackTrace()).anyMatch(f -> f.getClassName()
            .equals(PythonSandbox.class.getName()) && f.getMethodName().equals("run"));
  }
}
