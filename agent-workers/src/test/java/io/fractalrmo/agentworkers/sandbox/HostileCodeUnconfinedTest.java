package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Isolation;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The hostile-code suite on a machine with no confining layer at all (bubblewrap, Landlock,
 * seccomp and no-new-privs switched off through the test-only factory): every run is refused with
 * the reason and how to get a sandbox, nothing runs, nothing escapes. Only the operator's explicit
 * unsafe opt-in runs code then, and says so in every result.
 */
class HostileCodeUnconfinedTest extends HostileCodeSuite {

  static final Set<String> EVERY_LAYER = SandboxModes.EVERY_LAYER;
  private static PythonSandbox sandbox;

  @BeforeAll
  static void start() {
    sandbox = SandboxModes.unconfined(2);
  }

  @AfterAll
  static void stop() {
    sandbox.close();
  }

  @Override
  protected PythonSandbox sandbox() {
    return sandbox;
  }

  @Override
  protected PythonSandbox newSandbox() {
    return PythonSandbox.create(new PythonSandbox.Options(0, true), EVERY_LAYER);
  }

  @Override
  protected boolean refuses() {
    return true;
  }

  @Test
  void shouldRefuseAndSayWhichSandboxIsMissing() {
    Confinement c = sandbox.confinement();
    assertThat(c.runsCode()).isFalse();
    assertThat(c.blocksNetwork()).isFalse();
    assertThat(c.blocksHostFiles()).isFalse();
    assertThat(c.layers()).doesNotContain(Confinement.BUBBLEWRAP, Confinement.LANDLOCK,
        Confinement.SECCOMP, Confinement.UNSAFE);
    assertThat(c.refusal()).contains("bubblewrap: disabled").contains("Landlock")
        .contains("apt-get install bubblewrap").contains(PythonSandbox.UNSAFE_SETTING);
    assertThat(sandbox.isolation()).isEqualTo(Isolation.NONE);
    assertThat(sandbox.warmCount()).isZero();
    SandboxResult r = sandbox.run(Program.withTests("def f():\n    return 1\n",
        "def check(c):\n    assert c() == 1\n", "f"), limits(5_000));
    assertRefused(r);
    assertThat(r.error().type()).isEqualTo(SandboxResult.REFUSED);
    assertThat(r.evidence().complete()).isFalse();
  }

  @Test
  void shouldRunUnconfinedOnlyWithTheExplicitUnsafeOptInAndSaySoInEveryResult() {
    try (PythonSandbox unsafe = PythonSandbox.create(
        new PythonSandbox.Options(0, true).withUnsafeAllowUnconfined(true), EVERY_LAYER)) {
      Confinement c = unsafe.confinement();
      assertThat(c.runsCode()).isTrue();
      assertThat(c.unsafe()).isTrue();
      assertThat(c.layers()).contains(Confinement.UNSAFE);
      SandboxResult r = unsafe.run("print('ran')", limits(5_000));
      assertThat(r.success()).isTrue();
      assertThat(r.layers()).contains(Confinement.UNSAFE, Confinement.RLIMITS);
    }
  }
}
