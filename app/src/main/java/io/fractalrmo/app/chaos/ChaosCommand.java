package io.fractalrmo.app.chaos;

import io.fractalrmo.app.ExitCodes;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code fractal chaos}: a repeatable fault-injection run of the whole pipeline, and its verdict. */
@Command(name = "chaos", mixinStandardHelpOptions = true,
    subcommands = RecoveryCommand.class,
    description = {
        "Run every role as its own 'fractal run' process against one local stack (brokers, PostgreSQL and "
            + "the registry in this process), feed a steady load of HumanEval tasks, and for --cycles cycles "
            + "SIGKILL a random role instance and start it again (by default cycle 3 of every 7 kills and "
            + "restarts a broker, cycle 6 freezes PostgreSQL with SIGSTOP/SIGCONT), measuring each recovery "
            + "with canary tasks.",
        "Then an independent read_committed verifier checks every task's final status, one result and "
            + "outcome per action, the PostgreSQL record, and the rules; prints the tally; exits 0 only on PASS.",
        "'fractal chaos recovery' measures instead how fast 'fractal up' comes back after kill -9 of everything."})
public final class ChaosCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Mixin
  RunOptions run;

  @Option(names = "--brokers", defaultValue = "1", description = "Kafka brokers (1, or 3: RF 3, min ISR 2; default ${DEFAULT-VALUE}).")
  int brokers;

  @Option(names = "--instances", paramLabel = "ROLE=N", split = ",",
      description = "Processes per role, e.g. executor=2,validator=2 (defaults: analyzer=2, executor=2, "
          + "validator=2, streams=2, sink=1, outbox=1).")
  Map<String, Integer> instances = new LinkedHashMap<>();

  @Option(names = "--faults", split = ",", paramLabel = "FAULT[,FAULT...]",
      description = "The faults of cycles 1, 2, ... repeated: role (SIGKILL a random role instance and start it "
          + "again), broker (SIGKILL a random broker, restart it), postgres (freeze PostgreSQL 4-10 s). "
          + "Default: role,role,broker,role,role,postgres,role.")
  List<String> faults = new java.util.ArrayList<>(ChaosRun.Options.DEFAULT_FAULTS);

  @Option(names = "--recovery-timeout", defaultValue = "180", paramLabel = "SECONDS",
      description = "How long a cycle waits for its canaries (default ${DEFAULT-VALUE}).")
  int recoveryTimeoutSeconds;

  @Option(names = "--time-limit-ms", defaultValue = "10000",
      description = "Time limit of each task's run (default ${DEFAULT-VALUE}: generous, so a loaded machine "
          + "does not turn a correct solution into a timeout).")
  long timeLimitMs;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Map<String, Integer> roles = new LinkedHashMap<>(Map.of("analyzer", 2, "executor", 2,
        "validator", 2, "streams", 2, "sink", 1, "outbox", 1));
    roles.putAll(instances);
    for (var e : roles.entrySet()) {
      if (!List.of("analyzer", "executor", "validator", "streams", "sink", "outbox").contains(e.getKey())) {
        throw new IllegalArgumentException("unknown role in --instances: " + e.getKey());
      }
      if (e.getValue() < 0 || ((e.getKey().equals("outbox") || e.getKey().equals("sink")) && e.getValue() > 1)) {
        throw new IllegalArgumentException("--instances " + e.getKey() + "=" + e.getValue()
            + ": between 0 and " + (e.getKey().equals("outbox") || e.getKey().equals("sink") ? 1 : "any"));
      }
    }
    int cycles = run.cycles(20);
    int tasks = run.tasks(150);
    if (cycles < 0 || tasks < 1 || (brokers != 1 && brokers != 3)) {
      throw new IllegalArgumentException("--cycles >= 0, --tasks >= 1, --brokers 1 or 3");
    }
    Path runDir = run.runDir("fractal-chaos-");
    List<String> jvm = Arrays.stream(System.getenv().getOrDefault("FRACTAL_CHAOS_ROLE_JVM_OPTS",
        "-Xms64m -Xmx384m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC").trim().split("\\s+"))
        .filter(s -> !s.isEmpty()).toList();
    ChaosRun.Options options = new ChaosRun.Options(cycles, brokers, run.seed(42), tasks, roles, runDir,
        Duration.ofSeconds(recoveryTimeoutSeconds), Duration.ofMinutes(5), timeLimitMs, jvm,
        run.keepWhenPassed(), faults);
    Tally tally = new ChaosRun(options, out).run();
    return tally.passed() ? ExitCodes.OK : ExitCodes.FAILED;
  }
}
