package io.fractalrmo.agentworkers.sandbox;

import java.util.List;
import java.util.Map;

/**
 * The confinement a {@link PythonSandbox} applies to every run, as its start-up self-test found it
 * from inside a confined process (not as configured): which layers are in force, whether together
 * they keep untrusted code off the network and the host's files, and why runs are refused when they
 * do not.
 *
 * @param layers the layers in force, outermost first (names as in {@link SandboxResult#layers()}:
 *     {@value #BUBBLEWRAP}, {@value #PID_NAMESPACE}, {@value #WORKDIR_TMPFS}, {@value #LANDLOCK},
 *     {@value #SECCOMP}, {@value #NO_NEW_PRIVS}, {@value #UID}, {@value #RLIMITS}, {@value #SUBREAPER}, and
 *     {@value #UNSAFE} when the operator opted in to running without confinement)
 * @param blocksNetwork a connect to a loopback listener from inside failed, and a layer that
 *     denies network access is in force
 * @param blocksHostFiles reading a host file, writing a host directory and reading the worker's
 *     {@code /proc/<pid>/environ} failed from inside, and a layer that confines the file system is
 *     in force
 * @param unsafe the operator opted in to running untrusted code although neither holds
 * @param landlockAbi the Landlock ABI the kernel offers and the launcher uses (0 = none)
 * @param seccompArch the syscall table of the seccomp filter ({@code x86_64}, {@code aarch64}), or
 *     null when there is none
 * @param bubblewrap what became of bubblewrap: "in force", "not installed", "disabled", or why it
 *     does not work here
 * @param selfTest each self-test check and its outcome ("denied: ...", "allowed", ...)
 * @param refusal why runs are refused (which sandbox is missing and how to get it), or null when
 *     untrusted code runs
 */
public record Confinement(List<String> layers, boolean blocksNetwork, boolean blocksHostFiles,
    boolean unsafe, int landlockAbi, String seccompArch, String bubblewrap,
    Map<String, String> selfTest, String refusal) {

  public static final String BUBBLEWRAP = "bubblewrap";
  public static final String PID_NAMESPACE = "pid-namespace";
  public static final String LANDLOCK = "landlock";
  public static final String SECCOMP = "seccomp";
  public static final String NO_NEW_PRIVS = "no-new-privs";
  public static final String UID = "uid";
  public static final String RLIMITS = "rlimits";
  public static final String SUBREAPER = "subreaper";
  /**
   * Without bubblewrap: the run's work dir is a tmpfs of the work-dir bound in a mount namespace
   * of the run's own, so the kernel refuses a write past the bound (ENOSPC). Without this layer the
   * launcher measures a host directory every few milliseconds and kills the run once it is over,
   * which a fast writer can overshoot by what it writes between two checks.
   */
  public static final String WORKDIR_TMPFS = "workdir-tmpfs";
  public static final String UNSAFE = "UNSAFE-unconfined";

  public Confinement {
    layers = List.copyOf(layers);
    selfTest = Map.copyOf(selfTest);
  }

  /** Untrusted code runs (confined, or by the operator's explicit unsafe opt-in). */
  public boolean runsCode() {
    return refusal == null;
  }

  /** One line for logs and status pages. */
  public String describe() {
    if (refusal != null) {
      return "REFUSING untrusted code: " + refusal;
    }
    return String.join(", ", layers) + (landlockAbi > 0 && layers.contains(LANDLOCK)
        ? " (Landlock ABI " + landlockAbi + ")" : "")
        + (blocksNetwork ? "; no network" : "; NETWORK REACHABLE")
        + (blocksHostFiles ? ", no host files" : ", HOST FILES REACHABLE");
  }
}
