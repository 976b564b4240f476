package io.fractalrmo.agentworkers.executor;

import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.contracts.FindingPolicy.Confinement;
import java.util.List;

/**
 * The confinement a sandbox gives the code it will run, as {@link
 * io.fractalrmo.contracts.FindingPolicy} needs it before a run: the executor and the validator
 * decide which findings block from it.
 *
 * <p>Read off {@link PythonSandbox#confinement()}: the layers the sandbox's start-up self-test
 * found in force (the names {@code SandboxResult.layers()} gives each run), so Landlock and
 * seccomp without bubblewrap count as confinement too; none when the sandbox refuses to run.
 */
public final class SandboxConfinement {

  private SandboxConfinement() {
  }

  /**
   * The names of the layers the sandbox will apply; without the confining ones (bubblewrap,
   * Landlock) when together the layers do not keep the code off both the network and the host's
   * files (the operator's unsafe opt-in), so such a sandbox never counts as confining.
   */
  public static List<String> layers(PythonSandbox sandbox) {
    io.fractalrmo.agentworkers.sandbox.Confinement c = sandbox.confinement();
    if (!c.runsCode()) {
      return List.of();
    }
    if (c.blocksNetwork() && c.blocksHostFiles()) {
      return c.layers();
    }
    return c.layers().stream().filter(l -> !l.equals(io.fractalrmo.agentworkers.sandbox.Confinement.BUBBLEWRAP)
        && !l.equals(io.fractalrmo.agentworkers.sandbox.Confinement.LANDLOCK)).toList();
  }

  public static Confinement of(PythonSandbox sandbox) {
    return Confinement.ofLayers(layers(sandbox));
  }
}
