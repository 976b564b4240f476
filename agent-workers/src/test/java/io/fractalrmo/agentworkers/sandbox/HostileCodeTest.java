package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Isolation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The hostile-code suite with bubblewrap as the outer layer (skipped where bubblewrap cannot work,
 * e.g. with it hidden: {@link HostileCodeWithoutBubblewrapTest} covers that machine).
 */
class HostileCodeTest extends HostileCodeSuite {

  private static PythonSandbox sandbox;

  @BeforeAll
  static void start() {
    sandbox = PythonSandbox.create(new PythonSandbox.Options(2, true));
    Assumptions.assumeTrue(sandbox.confinement().layers().contains(Confinement.BUBBLEWRAP),
        "bubblewrap works here (" + sandbox.confinement().bubblewrap() + ")");
  }

  @AfterAll
  static void stop() {
    if (sandbox != null) {
      sandbox.close();
    }
  }

  @Override
  protected PythonSandbox sandbox() {
    return sandbox;
  }

  @Override
  protected PythonSandbox newSandbox() {
    return PythonSandbox.create(new PythonSandbox.Options(0, true));
  }

  @Override
  protected boolean refuses() {
    return false;
  }

  @Test
  void shouldUseBubblewrapAndTheKernelLayersInsideIt() {
    assertThat(sandbox.isolation()).isEqualTo(Isolation.BUBBLEWRAP);
    assertThat(sandbox.confinement().layers()).startsWith(Confinement.BUBBLEWRAP, Confinement.PID_NAMESPACE)
        .contains(Confinement.NO_NEW_PRIVS, Confinement.RLIMITS, Confinement.SUBREAPER);
    if (HostileCodeWithoutBubblewrapTest.kernelLandlockAbi() > 0) {
      assertThat(sandbox.confinement().layers()).contains(Confinement.LANDLOCK, Confinement.SECCOMP);
    }
  }
}
