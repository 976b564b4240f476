package io.fractalrmo.agentworkers.sandbox;

import java.nio.file.Path;
import java.util.Set;

/**
 * The three sandbox modes every hostile-code test runs in, for tests of any package of this module
 * (the executor's and validator's through the pipeline too): with bubblewrap, without it (the
 * option points at no bwrap, as on a machine that lacks it), and with every confining layer gone
 * (as on a machine with neither bubblewrap nor Landlock/seccomp), where every run is refused. The
 * last one exists only here, in test code: no setting reaches it.
 */
public final class SandboxModes {

  /** The layers {@link #unconfined(int)} switches off. */
  public static final Set<String> EVERY_LAYER = Set.of(Confinement.BUBBLEWRAP, Confinement.LANDLOCK,
      Confinement.SECCOMP, Confinement.NO_NEW_PRIVS);

  private SandboxModes() {}

  /** Bubblewrap when it works here (check {@code confinement().layers()}), plus the kernel layers. */
  public static PythonSandbox withBubblewrap(int warmPoolSize) {
    return PythonSandbox.create(new PythonSandbox.Options(warmPoolSize, true));
  }

  /** As on a machine without bubblewrap: Landlock, seccomp and the other layers only. */
  public static PythonSandbox withoutBubblewrap(int warmPoolSize) {
    return PythonSandbox.create(new PythonSandbox.Options(warmPoolSize, true)
        .withBubblewrap(Path.of("/nonexistent/bwrap")));
  }

  /** As on a machine with no confining layer: {@code run} refuses ({@link SandboxResult#refused()}). */
  public static PythonSandbox unconfined(int warmPoolSize) {
    return PythonSandbox.create(new PythonSandbox.Options(warmPoolSize, true), EVERY_LAYER);
  }
}
