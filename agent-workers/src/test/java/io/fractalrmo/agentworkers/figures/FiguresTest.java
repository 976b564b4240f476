package io.fractalrmo.agentworkers.figures;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.analyzer.AspectAnalyzer;
import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.executor.Actions;
import io.fractalrmo.agentworkers.executor.ExecutorHandler;
import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset;
import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset.Problem;
import io.fractalrmo.agentworkers.sandbox.PythonLocator;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.sandbox.SandboxLimits;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The figures of the report, measured on this machine and logged: sandbox start-up against bare
 * {@code python3 -c pass}, executor actions/s for trivial code on 2 threads, analyzer tasks/s.
 * Assertions are loose sanity bounds only (the machine is shared). Opt-in (≈ 30 s):
 * {@code ./mvnw -B -o -q -pl agent-workers test -Dtest=FiguresTest -Dfractal.figures=true}.
 */
@EnabledIfSystemProperty(named = "fractal.figures", matches = "true")
class FiguresTest {

  private static final Logger log = LoggerFactory.getLogger(FiguresTest.class);
  private static final int N = 60;

  @Test
  void sandboxStartupAgainstBarePython() throws Exception {
    // samples interleaved (bare, cold, warm, bare, ...) so that all three see the same load
    String python = PythonLocator.locate().toString();
    long[] bare = new long[N];
    long[] cold = new long[N];
    long[] warm = new long[N];
    long[] inside = new long[N];
    try (PythonSandbox coldSandbox = PythonSandbox.create(new PythonSandbox.Options(0, true));
         PythonSandbox warmSandbox = PythonSandbox.create(new PythonSandbox.Options(2, true))) {
      for (int i = 0; i < N; i++) {
        long t = System.nanoTime();
        Process p = new ProcessBuilder(python, "-c", "pass").start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        bare[i] = System.nanoTime() - t;

        t = System.nanoTime();
        assertThat(coldSandbox.run("pass", SandboxLimits.defaults()).success()).isTrue();
        cold[i] = System.nanoTime() - t;

        awaitWarm(warmSandbox);
        t = System.nanoTime();
        var r = warmSandbox.run("pass", SandboxLimits.defaults());
        warm[i] = System.nanoTime() - t;
        assertThat(r.success()).isTrue();
        assertThat(r.warm()).isTrue();
        inside[i] = r.durationMs() * 1_000_000;
      }
    }
    log.info("FIGURE start-up ms p50/p99 (n={}): bare python3 -c pass {}/{}, sandbox cold {}/{}, "
        + "sandbox warm pool {}/{} (of which fork-to-exit inside the sandbox {}/{})", N,
        ms(p(bare, 50)), ms(p(bare, 99)), ms(p(cold, 50)), ms(p(cold, 99)), ms(p(warm, 50)), ms(p(warm, 99)),
        ms(p(inside, 50)), ms(p(inside, 99)));
    assertThat(p(warm, 50)).isLessThan(p(cold, 50));
  }

  /** Lets the pool refill between samples (a steady trickle of actions, not a burst). */
  private static void awaitWarm(PythonSandbox s) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (s.warmCount() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(2);
    }
  }

  @Test
  void executorThroughputForTrivialCode() throws Exception {
    int threads = 2;
    int actions = 200;
    try (PythonSandbox sandbox = PythonSandbox.create(new PythonSandbox.Options(4, true));
         PythonAnalysisHelper helper = new PythonAnalysisHelper()) {
      ExecutorHandler executor = new ExecutorHandler("bench", TopicCatalog.withPrefix("b."), sandbox, helper,
          List::of, null, Clock.systemUTC());
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      AtomicInteger ok = new AtomicInteger();
      long t = System.nanoTime();
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < actions; i++) {
        ActionItem a = Actions.execute("print(sum(range(10)))\n").build();
        fs.add(pool.submit(() -> {
          ExecutionResult r = (ExecutionResult) executor.handle(a.getTaskId(), a).get(0).value();
          if (r.getSuccess()) {
            ok.incrementAndGet();
          }
        }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
      double secs = (System.nanoTime() - t) / 1e9;
      pool.shutdown();
      log.info("FIGURE executor: {} trivial actions on {} threads in {} s = {} actions/s", actions, threads,
          String.format("%.2f", secs), String.format("%.1f", actions / secs));
      assertThat(ok.get()).isEqualTo(actions);
    }
  }

  @Test
  void analyzerSwarmThroughput() {
    List<Problem> problems = HumanEvalDataset.load();
    try (PythonAnalysisHelper helper = new PythonAnalysisHelper()) {
      List<AspectAnalyzer> swarm = Arrays.stream(Aspect.values()).filter(a -> a != Aspect.UNKNOWN)
          .map(a -> new AspectAnalyzer(a, "bench-" + a, TopicCatalog.withPrefix("b."), helper, Clock.systemUTC()))
          .toList();
      long t = System.nanoTime();
      for (Problem p : problems) {
        Task task = Task.newBuilder().setTaskId(p.taskId()).setCode(p.solution()).setSubmittedAt(Instant.now())
            .setAttributes(Map.of()).build();
        for (AspectAnalyzer a : swarm) {
          assertThat(a.handle(task.getTaskId(), task)).hasSize(1);
        }
      }
      double secs = (System.nanoTime() - t) / 1e9;
      log.info("FIGURE analyzer swarm: {} HumanEval tasks x 5 aspects on one helper in {} s = {} tasks/s ({} analyses/s)",
          problems.size(), String.format("%.2f", secs), String.format("%.1f", problems.size() / secs),
          String.format("%.1f", problems.size() * 5 / secs));
    }
  }

  private static long p(long[] xs, int pct) {
    long[] s = xs.clone();
    Arrays.sort(s);
    return s[Math.min(s.length - 1, (int) Math.ceil(pct / 100.0 * s.length) - 1)];
  }

  private static String ms(long nanos) {
    return String.format("%.1f", nanos / 1e6);
  }
}
