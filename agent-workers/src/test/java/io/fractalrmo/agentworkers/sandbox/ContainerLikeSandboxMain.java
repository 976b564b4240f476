package io.fractalrmo.agentworkers.sandbox;

import java.util.List;

/**
 * A worker's sandbox in a JVM of its own, for {@link ContainerLikeSandboxTest}: it starts
 * {@link PythonSandbox} with its defaults (as a role does) and prints what the start-up self-test
 * found, then the outcome of each program given as an argument ({@code name=code}; the code's
 * newlines written as {@code \n}), one line each.
 */
public final class ContainerLikeSandboxMain {

  private ContainerLikeSandboxMain() {}

  public static void main(String[] args) {
    try (PythonSandbox sandbox = PythonSandbox.create()) {
      Confinement c = sandbox.confinement();
      System.out.println("LAYERS " + String.join(",", c.layers()));
      System.out.println("BWRAP " + c.bubblewrap());
      System.out.println("RUNS " + c.runsCode());
      for (String arg : args) {
        int eq = arg.indexOf('=');
        String name = arg.substring(0, eq);
        String code = arg.substring(eq + 1).replace("\\n", "\n");
        SandboxResult r = sandbox.run(code, SandboxLimits.defaults());
        System.out.println("RESULT " + name + " success=" + r.success() + " layers="
            + String.join(",", r.layers()) + " stdout=" + r.stdout().replace("\n", "|")
            + " error=" + (r.error() == null ? "" : r.error().type()));
      }
      System.out.println("DONE " + List.of(args).size());
    }
  }
}
