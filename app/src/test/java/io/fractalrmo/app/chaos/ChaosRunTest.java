package io.fractalrmo.app.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short chaos run in the suite: every role its own {@code fractal run} process on one broker,
 * a SIGKILLed role instance, a frozen PostgreSQL and a killed broker, real HumanEval tasks; the
 * verifier must find nothing lost, doubled or wrong, and no process may be left behind. (The
 * full run is {@code fractal chaos}: 20 cycles, two of each worker role.)
 */
class ChaosRunTest {

  @TempDir
  Path dir;

  @Test
  void shouldLoseNothingDoubleNothingAndEndEveryTaskRightThroughEachKindOfFault() throws Exception {
    ChaosRun.Options options = new ChaosRun.Options(3, 1, 11, 8,
        Map.of("analyzer", 1, "executor", 1, "validator", 1, "streams", 1, "sink", 1,
            "outbox", 1),
        dir.resolve("run"), Duration.ofMinutes(3), Duration.ofMinutes(4), 10_000,
        List.of("-Xms64m", "-Xmx320m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"), false,
        List.of("role", "postgres", "broker"));
    StringWriter text = new StringWriter();
    Tally tally;
    try (PrintWriter out = new PrintWriter(text, true)) {
      tally = new ChaosRun(options, out).run();
    }
    System.err.println(text);

    assertThat(tally.passed()).as(text.toString()).isTrue();
    assertThat(tally.kills().values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(1);
    assertThat(tally.brokerRestarts()).isEqualTo(1);
    assertThat(tally.postgresPauses()).isEqualTo(1);
    // 8 fed + 3 canaries for each probe
    assertThat(tally.findings().tasks).isEqualTo(8 + 5 * 3); // + a warm-up, the baseline, 3 cycles
    assertThat(tally.findings().finals.values().stream().mapToInt(Integer::intValue).sum())
        .isEqualTo(tally.findings().tasks);
    assertThat(dir.resolve("run")).doesNotExist();
    assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
        .filter(h -> io.fractalrmo.platform.ChildProcesses.commandLine(h.pid())
            .contains(dir.toString())).toList())
        .as("processes of the run left behind").isEmpty();
  }
}
