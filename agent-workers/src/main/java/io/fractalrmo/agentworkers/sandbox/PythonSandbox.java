package io.fractalrmo.agentworkers.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.contracts.Isolation;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs untrusted Python, one program per process.
 *
 * <p>Each run is a fresh launcher process ({@code launcher.py}, shipped in the jar) that reads one
 * program from stdin, forks it with rlimits (address space, processes, file size, CPU, no core
 * dumps), under an unprivileged uid when started as root (root ignores RLIMIT_NPROC), with a
 * wall-clock timeout after which every process of the run is killed. With {@code bwrap} the
 * launcher lives in fresh pid/net/ipc/uts (and, when not root, user) namespaces, sees only
 * read-only {@code /usr} (+ the {@code /lib /lib64 /bin} links) and tmpfs {@code /work} and
 * {@code /tmp}, and has an empty environment; otherwise rlimits and a scrubbed environment only
 * ({@link Isolation#RLIMITS}). A small pool of launchers is started ahead of time ("warm": they
 * wait for their program on stdin with common modules imported), so a run does not pay the
 * interpreter start-up. A backstop on the Java side kills the whole process tree should the
 * launcher itself not finish within the timeout plus a grace period.
 */
public final class PythonSandbox implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PythonSandbox.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long BACKSTOP_GRACE_MS = 3_000;
  private static final int FIRST_UID = 61_000;
  private static final int UID_RANGE = 4_000;

  /** Pool size (0 = no warm pool) and whether bubblewrap is used when present. */
  public record Options(int warmPoolSize, boolean useBubblewrap) {
    public static Options defaults() {
      return new Options(2, true);
    }
  }

  private final Path python;
  private final Path launcherDir;
  private final Path launcher;
  private final Path bwrap;
  private final boolean root;
  private final Isolation isolation;
  private final int warmPoolSize;
  private final BlockingQueue<Launcher> pool;

  /** A started launcher: its readiness ("ready" line), its result line and its stderr. */
  private record Launcher(Process process, CompletableFuture<Boolean> ready,
      CompletableFuture<byte[]> result, CompletableFuture<byte[]> err) {}
  private final ExecutorService refiller;
  private final ExecutorService io;
  // each instance starts at a random point of the uid range, so sandboxes of several workers on
  // one host rarely share a uid (RLIMIT_NPROC counts per uid)
  private final AtomicInteger uidSeq = new AtomicInteger(
      java.util.concurrent.ThreadLocalRandom.current().nextInt(UID_RANGE));
  private final AtomicBoolean closed = new AtomicBoolean();
  private final java.util.Set<Process> live = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private PythonSandbox(Options options) throws IOException {
    this.python = PythonLocator.locate();
    this.launcherDir = Files.createTempDirectory("fractal-sandbox-");
    this.launcher = launcherDir.resolve("launcher.py");
    try (InputStream in = PythonSandbox.class.getResourceAsStream("launcher.py")) {
      if (in == null) {
        throw new IllegalStateException("launcher.py missing from the classpath");
      }
      Files.copy(in, launcher);
    }
    launcher.toFile().setReadable(true, false);
    launcherDir.toFile().setExecutable(true, false);
    this.root = "root".equals(System.getProperty("user.name")) || isUidZero();
    this.io = Executors.newCachedThreadPool(daemon("fractal-sandbox-io"));
    Path found = options.useBubblewrap() ? Bubblewrap.find().orElse(null) : null;
    this.bwrap = found != null && Bubblewrap.works(found, python, !root) ? found : null;
    this.isolation = bwrap != null ? Isolation.BUBBLEWRAP : Isolation.RLIMITS;
    if (found != null && bwrap == null) {
      log.warn("bwrap at {} does not work here; falling back to rlimits only", found);
    }
    this.warmPoolSize = options.warmPoolSize();
    this.pool = new ArrayBlockingQueue<>(Math.max(1, options.warmPoolSize()));
    this.refiller = Executors.newSingleThreadExecutor(daemon("fractal-sandbox-pool"));
    for (int i = 0; i < options.warmPoolSize(); i++) {
      refiller.execute(this::refill);
    }
    log.info("Python sandbox: {} with {} ({} warm launchers)", isolation, python,
        options.warmPoolSize());
  }

  public static PythonSandbox create() {
    return create(Options.defaults());
  }

  public static PythonSandbox create(Options options) {
    try {
      return new PythonSandbox(options);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Isolation isolation() {
    return isolation;
  }

  /** Launchers started and waiting for a program. */
  public int warmCount() {
    return pool.size();
  }

  public Path python() {
    return python;
  }

  /** Runs {@code code} alone as {@code main.py}: {@code run(Program.solutionOnly(code), limits)}. */
  public SandboxResult run(String code, SandboxLimits limits) {
    return run(Program.solutionOnly(code), limits);
  }

  /** Runs {@code program} in a fresh sandbox with the given limits. */
  public SandboxResult run(Program program, SandboxLimits limits) {
    String code = interimSource(program);
    if (closed.get()) {
      throw new IllegalStateException("sandbox closed");
    }
    Launcher pooled = pool.poll();
    boolean warm = pooled != null && pooled.process().isAlive();
    if (pooled != null && !warm) {
      destroyTree(pooled.process());
    }
    Launcher launcher = warm ? pooled : start(false);
    Process used = launcher.process();
    try {
      return withInterimEvidence(runIn(launcher, code, limits, warm), program);
    } finally {
      if (warmPoolSize > 0 && (pooled != null || pool.isEmpty())) {
        // replace the launcher taken once the run is over, so starting the next one does not
        // compete with this run for the CPU
        refiller.execute(this::refill);
      }
      // the result is in once the launcher printed it; tearing the namespaces down is not on the
      // caller's clock
      io.execute(() -> {
        destroyTree(used);
        try {
          used.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          live.remove(used);
        }
      });
    }
  }

  /**
   * INTERIM (until the launcher's harness lands): the program as one source text, with
   * {@code check(<entry point>)} called when the tests define it. The entry point is a validated
   * identifier ({@link Program}), so nothing else can be spliced in.
   */
  private static String interimSource(Program program) {
    StringBuilder p = new StringBuilder(program.solution());
    if (!program.solution().endsWith("\n")) {
      p.append('\n');
    }
    if (program.hasTests()) {
      p.append("\n\n").append(program.tests());
      if (!program.tests().endsWith("\n")) {
        p.append('\n');
      }
      if (program.entryPoint() != null) {
        p.append("\n\nif callable(globals().get('check')):\n    check(").append(program.entryPoint())
            .append(")\n");
      }
    }
    return p.toString();
  }

  /**
   * INTERIM and NOT proof (an early {@code os._exit(0)} passes): evidence read off the exit
   * status, exactly as before the harness. The launcher's harness replaces this.
   */
  private static SandboxResult withInterimEvidence(SandboxResult r, Program program) {
    boolean ok = !r.timedOut() && r.error() == null && r.exitCode() != null && r.exitCode() == 0;
    Evidence e = new Evidence(program.hasTests(), ok, ok && program.hasTests(), null);
    return new SandboxResult(r.exitCode(), r.timedOut(), r.stdout(), r.stdoutSize(), r.stderr(),
        r.stderrSize(), r.error(), r.durationMs(), r.peakMemoryKb(), r.isolation(), r.warm(),
        r.uid(), e);
  }

  private SandboxResult runIn(Launcher launcher, String code, SandboxLimits limits, boolean warm) {
    Process process = launcher.process();
    CompletableFuture<byte[]> out = launcher.result();
    CompletableFuture<byte[]> err = launcher.err();
    Path hostWorkDir = null;
    Integer uid = null;
    try {
      ObjectNode header = JSON.createObjectNode();
      if (bwrap != null) {
        header.put("workdir", "/work");
        header.putArray("chown").add("/tmp");
        header.put("own_pid_namespace", true);
      } else {
        hostWorkDir = Files.createTempDirectory("fractal-run-");
        header.put("workdir", hostWorkDir.toString());
        header.put("own_pid_namespace", false);
      }
      header.put("timeout_ms", limits.timeoutMs());
      header.put("memory_mb", limits.memoryMb());
      header.put("max_processes", limits.maxProcesses());
      header.put("max_output_bytes", limits.maxOutputBytes());
      header.put("file_size_bytes", limits.fileSizeBytes());
      header.put("cpu_seconds", limits.cpuSeconds());
      if (root) {
        uid = FIRST_UID + Math.floorMod(uidSeq.getAndIncrement(), UID_RANGE);
        header.put("uid", uid);
      }
      try (OutputStream stdin = process.getOutputStream()) {
        stdin.write(JSON.writeValueAsBytes(header));
        stdin.write('\n');
        stdin.write(code.getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        log.debug("launcher stdin closed early", e);
      }
      long started = System.nanoTime();
      byte[] stdout;
      try {
        stdout = out.get(limits.timeoutMs() + BACKSTOP_GRACE_MS, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        stdout = null;
      }
      if (stdout == null) {
        destroyTree(process);
        long ms = (System.nanoTime() - started) / 1_000_000;
        log.warn("sandbox launcher did not finish; killed its process tree after {} ms", ms);
        return new SandboxResult(null, true, "", 0, "", 0,
            new PythonError("TimeoutError", "wall-clock limit of " + limits.timeoutMs()
                + " ms exceeded; the sandbox was killed", null, null),
            ms, null, isolation, warm, uid, null);
      }
      int exit = -1;
      if (stdout.length == 0 && process.waitFor(1, TimeUnit.SECONDS)) {
        exit = process.exitValue();
        try {
          err.get(1, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          // the error text is only for the message
        }
      }
      return parse(stdout, err.getNow(new byte[0]), exit, warm, uid);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running sandboxed code", e);
    } catch (Exception e) {
      throw new IllegalStateException("sandbox run failed: " + e.getMessage(), e);
    } finally {
      if (hostWorkDir != null) {
        deleteTree(hostWorkDir);
      }
    }
  }

  private SandboxResult parse(byte[] stdout, byte[] launcherErr, int launcherExit, boolean warm, Integer uid)
      throws IOException {
    String text = new String(stdout, StandardCharsets.UTF_8).strip();
    int lastLine = text.lastIndexOf('\n');
    String json = lastLine >= 0 ? text.substring(lastLine + 1) : text;
    if (json.isEmpty() || json.charAt(0) != '{') {
      String why = new String(launcherErr, StandardCharsets.UTF_8).strip();
      return new SandboxResult(null, false, "", 0, "", 0,
          new PythonError("SandboxError", "the sandbox launcher failed (exit " + launcherExit + ")"
              + (why.isEmpty() ? "" : ": " + why), null, null), 0, null, isolation, warm, uid, null);
    }
    JsonNode r = JSON.readTree(json);
    PythonError error = null;
    JsonNode e = r.get("error");
    if (e != null && !e.isNull()) {
      error = new PythonError(e.path("type").asText("Exception"), e.path("message").asText(""),
          e.hasNonNull("traceback") ? e.get("traceback").asText() : null,
          e.hasNonNull("line") ? e.get("line").asInt() : null);
    }
    return new SandboxResult(
        r.hasNonNull("exit_code") ? r.get("exit_code").asInt() : null,
        r.path("timed_out").asBoolean(false),
        r.path("stdout").asText(""), r.path("stdout_size").asLong(0),
        r.path("stderr").asText(""), r.path("stderr_size").asLong(0),
        error, r.path("duration_ms").asLong(0),
        r.hasNonNull("peak_memory_kb") ? r.get("peak_memory_kb").asLong() : null,
        isolation, warm, uid, null);
  }

  private void refill() {
    if (closed.get()) {
      return;
    }
    try {
      Launcher l = start(true);
      l.ready().thenAccept(ok -> {
        if (!ok || closed.get() || !pool.offer(l)) {
          destroyTree(l.process());
        }
        if (closed.get()) {
          drainPool();
        }
      });
    } catch (RuntimeException e) {
      log.warn("could not start a warm sandbox launcher: {}", e.toString());
    }
  }

  private Launcher start(boolean warm) {
    List<String> cmd = new ArrayList<>();
    if (bwrap != null) {
      cmd.addAll(bwrapPrefix(bwrap));
      cmd.add("--ro-bind");
      cmd.add(launcher.toString());
      cmd.add("/fractal/launcher.py");
      cmd.add(python.toString());
      cmd.add("-I");
      cmd.add("/fractal/launcher.py");
    } else {
      cmd.add(python.toString());
      cmd.add("-I");
      cmd.add(launcher.toString());
    }
    if (warm) {
      cmd.add("--warm");
    }
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().clear();
    pb.environment().put("PATH", "/usr/bin:/bin");
    pb.environment().put("LANG", "C.UTF-8");
    pb.directory(launcherDir.toFile());
    try {
      Process p = pb.start();
      live.add(p);
      CompletableFuture<Boolean> ready = new CompletableFuture<>();
      CompletableFuture<byte[]> result = new CompletableFuture<>();
      io.execute(() -> readLauncher(p.getInputStream(), ready, result));
      return new Launcher(p, ready, result, readAsync(p.getErrorStream(), 16 * 1024));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the sandbox: " + cmd, e);
    }
  }

  private List<String> bwrapPrefix(Path bwrapBinary) {
    // as root: no user namespace (it would map to uid 0, for which RLIMIT_NPROC does not apply);
    // the launcher drops to an unprivileged uid instead
    return Bubblewrap.prefix(bwrapBinary, python, !root);
  }

  private static boolean isUidZero() {
    try {
      Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      return uid instanceof Integer i && i == 0;
    } catch (Exception e) {
      return false;
    }
  }

  private CompletableFuture<byte[]> readAsync(InputStream in, long bound) {
    return CompletableFuture.supplyAsync(() -> {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      byte[] chunk = new byte[16 * 1024];
      try (in) {
        int n;
        while ((n = in.read(chunk)) >= 0) {
          int keep = (int) Math.min(n, Math.max(0, bound - buf.size()));
          buf.write(chunk, 0, keep);
        }
      } catch (IOException e) {
        // process killed: what was read is all there is
      }
      return buf.toByteArray();
    }, io);
  }

  /** The launcher's two lines: "ready", then its result (read up to EOF if it dies early). */
  private static void readLauncher(InputStream in, CompletableFuture<Boolean> ready,
      CompletableFuture<byte[]> result) {
    try (in) {
      java.io.BufferedInputStream bin = new java.io.BufferedInputStream(in);
      byte[] first = readLine(bin, 1024);
      boolean ok = new String(first, StandardCharsets.UTF_8).strip().equals("ready");
      ready.complete(ok);
      if (!ok) {
        result.complete(first);
        return;
      }
      result.complete(readLine(bin, 64L * 1024 * 1024));
    } catch (IOException | RuntimeException e) {
      ready.complete(false);
      result.complete(new byte[0]);
    }
  }

  /** Bytes up to and including the next newline, or to EOF; at most {@code bound} kept. */
  private static byte[] readLine(InputStream in, long bound) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      if (buf.size() < bound) {
        buf.write(b);
      }
      if (b == '\n') {
        break;
      }
    }
    return buf.toByteArray();
  }

  static void destroyTree(Process p) {
    try (Stream<ProcessHandle> d = p.descendants()) {
      d.forEach(ProcessHandle::destroyForcibly);
    }
    p.destroyForcibly();
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      log.debug("could not delete {}", dir, e);
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  private void drainPool() {
    Launcher l;
    while ((l = pool.poll()) != null) {
      destroyTree(l.process());
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    refiller.shutdownNow();
    try {
      refiller.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    drainPool();
    io.shutdown();
    try {
      io.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    live.forEach(PythonSandbox::destroyTree);
    io.shutdownNow();
    deleteTree(launcherDir);
  }
}
