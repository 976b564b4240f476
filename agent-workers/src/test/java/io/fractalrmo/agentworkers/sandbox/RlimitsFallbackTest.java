package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Isolation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Without bubblewrap ({@code useBubblewrap = false}) the sandbox still enforces the timeout,
 * rlimits, output bound and a scrubbed environment; the file system and the network are confined by
 * Landlock and seccomp then ({@link HostileCodeWithoutBubblewrapTest}), and {@code isolation()}
 * stays RLIMITS, the schema's name for "not bubblewrap" ({@link SandboxResult#layers()} has the rest).
 */
class RlimitsFallbackTest {

  static PythonSandbox sandbox;

  @BeforeAll
  static void start() {
    sandbox = PythonSandbox.create(new PythonSandbox.Options(1, false));
  }

  @AfterAll
  static void stop() {
    sandbox.close();
  }

  @Test
  void shouldSayRlimitsAndStillRunCode() {
    assertThat(sandbox.isolation()).isEqualTo(Isolation.RLIMITS);
    SandboxResult r = sandbox.run("import os\nprint(sorted(os.environ))\n", SandboxLimits.defaults());
    assertThat(r.success()).isTrue();
    assertThat(r.isolation()).isEqualTo(Isolation.RLIMITS);
    assertThat(r.layers()).contains(Confinement.RLIMITS).doesNotContain(Confinement.BUBBLEWRAP);
    assertThat(r.stdout()).doesNotContain("FRACTAL_TEST_SECRET").doesNotContain("JAVA_HOME");
  }

  @Test
  void shouldKillACpuSpinAtTheTimeout() {
    SandboxResult r = sandbox.run("while True:\n    pass\n", SandboxLimits.defaults().withTimeoutMs(500));
    assertThat(r.timedOut()).isTrue();
    assertThat(r.durationMs()).isBetween(500L, 600L);
  }

  @Test
  void shouldContainAForkBombAndAMemoryHog() {
    SandboxResult bomb = sandbox.run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        new SandboxLimits(1_000, 256, 16, 1_000, SandboxLimits.DEFAULT_FILE_SIZE_BYTES));
    assertThat(bomb.timedOut()).isTrue();
    SandboxResult hog = sandbox.run("x = bytearray(1 << 30)\n",
        new SandboxLimits(5_000, 128, 16, 1_000, SandboxLimits.DEFAULT_FILE_SIZE_BYTES));
    assertThat(hog.error().type()).isEqualTo("MemoryError");
    assertThat(sandbox.run("print(2)", SandboxLimits.defaults()).stdout()).isEqualTo("2\n");
  }
}
