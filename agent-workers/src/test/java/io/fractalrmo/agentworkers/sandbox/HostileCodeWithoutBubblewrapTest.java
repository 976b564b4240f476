package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Isolation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The hostile-code suite on a machine without bubblewrap (the option points at no bwrap): Landlock,
 * seccomp, no-new-privs, the per-run uid, rlimits and the subreaper must hold it on their own. On a
 * kernel without Landlock the same suite checks that every run is refused instead.
 */
class HostileCodeWithoutBubblewrapTest extends HostileCodeSuite {

  static final PythonSandbox.Options NO_BWRAP =
      new PythonSandbox.Options(2, true).withBubblewrap(Path.of("/nonexistent/bwrap"));
  private static PythonSandbox sandbox;

  @BeforeAll
  static void start() {
    sandbox = PythonSandbox.create(NO_BWRAP);
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
    return PythonSandbox.create(NO_BWRAP.withBubblewrap(Path.of("/nonexistent/bwrap")));
  }

  @Override
  protected boolean refuses() {
    return kernelLandlockAbi() == 0;
  }

  @Test
  void shouldConfineThroughLandlockAndSeccompWithoutBubblewrap() {
    Confinement c = sandbox.confinement();
    assertThat(c.layers()).doesNotContain(Confinement.BUBBLEWRAP, Confinement.PID_NAMESPACE);
    assertThat(c.bubblewrap()).contains("not installed");
    if (kernelLandlockAbi() == 0) {
      assertThat(c.runsCode()).isFalse();
      return;
    }
    assertThat(c.layers()).contains(Confinement.LANDLOCK, Confinement.SECCOMP,
        Confinement.NO_NEW_PRIVS, Confinement.RLIMITS, Confinement.SUBREAPER);
    assertThat(c.landlockAbi()).isEqualTo(kernelLandlockAbi());
    assertThat(c.blocksNetwork()).isTrue();
    assertThat(c.blocksHostFiles()).isTrue();
    assertThat(sandbox.isolation()).isEqualTo(Isolation.RLIMITS);
    assertThat(c.selfTest()).containsEntry("no_new_privs", "1").containsEntry("seccomp_mode", "2");
    if (c.layers().contains(Confinement.UID)) {
      // as root the work dir of every run is a tmpfs of its bound in a mount namespace of its own
      assertThat(c.layers()).contains(Confinement.WORKDIR_TMPFS);
      assertThat(c.selfTest().get("workdir_fs")).startsWith("own ");
    }
  }

  /** The Landlock ABI this kernel offers to /usr/bin/python3, asked from outside the sandbox. */
  static int kernelLandlockAbi() {
    try {
      Process p = new ProcessBuilder(PythonLocator.locate().toString(), "-I", "-c",
          "import ctypes; print(max(0, ctypes.CDLL(None).syscall(444, None, ctypes.c_size_t(0), "
              + "ctypes.c_uint32(1))))").redirectErrorStream(true).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0 ? Integer.parseInt(out) : 0;
    } catch (IOException | NumberFormatException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }
}
