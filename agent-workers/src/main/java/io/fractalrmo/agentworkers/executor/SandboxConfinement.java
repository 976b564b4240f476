package io.fractalrmo.agentworkers.executor;

import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.contracts.FindingPolicy.Confinement;
import java.util.List;
import java.util.Locale;

/**
 * The confinement a sandbox gives the code it will run, as {@link
 * io.fractalrmo.contracts.FindingPolicy} needs it before a run: the executor and the validator
 * decide which findings block from it.
 *
 * <p>INTERIM: read off {@link PythonSandbox#isolation()} (the same names {@code
 * SandboxResult.layers()} gives today) until the sandbox exposes the layers it probed at start.
 */
public final class SandboxConfinement {

  private SandboxConfinement() {
  }

  /** The names of the layers the sandbox will apply. */
  public static List<String> layers(PythonSandbox sandbox) {
    return List.of(sandbox.isolation().name().toLowerCase(Locale.ROOT));
  }

  public static Confinement of(PythonSandbox sandbox) {
    return Confinement.ofLayers(layers(sandbox));
  }
}
