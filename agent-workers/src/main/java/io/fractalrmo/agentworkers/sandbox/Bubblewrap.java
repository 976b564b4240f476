package io.fractalrmo.agentworkers.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bubblewrap command line shared by the sandbox and the analysis helper: fresh namespaces,
 * {@code --die-with-parent}, a new session, an empty environment, read-only {@code /usr} (plus
 * the {@code /lib /lib64 /bin /sbin} links or binds, and the interpreter's prefix when it lives
 * elsewhere), {@code /proc}, {@code /dev}, and size-bounded tmpfs {@code /work}, {@code /tmp} and
 * {@code /dev/shm} (bwrap's {@code --dev} would otherwise leave an unbounded {@code /dev/shm}):
 * every file system the code can write is bounded.
 */
public final class Bubblewrap {

  private static final Logger log = LoggerFactory.getLogger(Bubblewrap.class);
  /** Size of the {@code /work} and {@code /tmp} tmpfs. */
  public static final long TMPFS_BYTES = 64L * 1024 * 1024;
  /** Size of the {@code /dev/shm} tmpfs (POSIX shared memory needs little; Landlock denies it). */
  public static final long SHM_BYTES = 8L * 1024 * 1024;
  private static final String TMPFS_SIZE = Long.toString(TMPFS_BYTES);
  private static final Map<List<String>, Boolean> WORKS = new ConcurrentHashMap<>();

  private Bubblewrap() {}

  /** {@code bwrap} at {@code configured} when given (and executable), else on PATH or in /usr/bin. */
  public static Optional<Path> find(Path configured) {
    if (configured != null) {
      return Files.isExecutable(configured) && !Files.isDirectory(configured)
          ? Optional.of(configured) : Optional.empty();
    }
    return find();
  }

  /** {@code bwrap} on PATH or in /usr/bin. */
  public static Optional<Path> find() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "bwrap"))) {
        return Optional.of(Path.of(dir, "bwrap"));
      }
    }
    Path usual = Path.of("/usr/bin/bwrap");
    return Files.isExecutable(usual) ? Optional.of(usual) : Optional.empty();
  }

  /**
   * The command prefix (up to, not including, the program). {@code userNamespace} false keeps the
   * caller's user (needed as root so that an unprivileged uid can be taken and RLIMIT_NPROC
   * applies); true unshares everything.
   */
  public static List<String> prefix(Path bwrap, Path python, boolean userNamespace) {
    List<String> c = new ArrayList<>(List.of(bwrap.toString()));
    if (userNamespace) {
      c.add("--unshare-all");
    } else {
      c.addAll(List.of("--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
          "--unshare-cgroup-try"));
    }
    c.addAll(List.of("--die-with-parent", "--new-session", "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/work",
        "--setenv", "LANG", "C.UTF-8", "--setenv", "TMPDIR", "/tmp",
        "--ro-bind", "/usr", "/usr"));
    for (String dir : List.of("/lib", "/lib64", "/lib32", "/bin", "/sbin")) {
      Path p = Path.of(dir);
      if (Files.isSymbolicLink(p)) {
        try {
          c.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), dir));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        c.addAll(List.of("--ro-bind", dir, dir));
      }
    }
    c.addAll(List.of("--proc", "/proc", "--dev", "/dev",
        "--size", Long.toString(SHM_BYTES), "--tmpfs", "/dev/shm",
        "--size", TMPFS_SIZE, "--tmpfs", "/work",
        "--size", TMPFS_SIZE, "--tmpfs", "/tmp"));
    // An interpreter installed elsewhere (pyenv, conda, /opt) is bound after the tmpfs mounts, so
    // that one under /tmp is not hidden by them, and the directories above it are made here, in
    // the sandbox's own root, open to every user: the host's may be closed (a home directory of
    // mode 0700), and a run under a uid of its own could not import the standard library through
    // them. Nothing of those host directories but the interpreter's prefix is visible.
    for (Path prefix : PythonLocator.prefixesOutsideUsr(python)) {
      List<Path> above = new ArrayList<>();
      for (Path d = prefix.getParent(); d != null && d.getParent() != null; d = d.getParent()) {
        above.add(0, d);
      }
      for (Path d : above) {
        c.addAll(List.of("--perms", "0755", "--dir", d.toString()));
      }
      c.addAll(List.of("--ro-bind", prefix.toString(), prefix.toString()));
    }
    c.addAll(List.of("--chdir", "/work"));
    return c;
  }

  /** Whether this command line runs {@code python -c pass} here (remembered per command line). */
  public static boolean works(Path bwrap, Path python, boolean userNamespace) {
    List<String> cmd = new ArrayList<>(prefix(bwrap, python, userNamespace));
    cmd.addAll(List.of(python.toString(), "-I", "-c", "pass"));
    return WORKS.computeIfAbsent(cmd, Bubblewrap::probe);
  }

  private static boolean probe(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getOutputStream().close();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return false;
      }
      if (p.exitValue() != 0) {
        log.warn("bubblewrap does not work here: {}", new String(p.getInputStream().readNBytes(4096)).strip());
      }
      return p.exitValue() == 0;
    } catch (IOException e) {
      log.warn("bubblewrap does not work here: {}", e.toString());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
