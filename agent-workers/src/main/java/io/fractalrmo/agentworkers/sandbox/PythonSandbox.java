package io.fractalrmo.agentworkers.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.contracts.Isolation;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs untrusted Python, one program per process, confined in kernel-enforced layers, and says
 * which layers held and how far the program provably got.
 *
 * <p>Each run is a fresh launcher process ({@code launcher.py}, shipped in the jar; see its header
 * for every layer and for the harness). Outermost, when it works here, bubblewrap gives the
 * launcher fresh net, pid, ipc and uts namespaces, a mount namespace with a read-only system and
 * size-bounded tmpfs {@code /work}, {@code /tmp} and {@code /dev/shm}, and an empty environment.
 * Inside (and without bubblewrap too) the launcher forks the program's process and, before any of
 * the program runs, applies rlimits, a per-run unprivileged uid (when the worker is root),
 * no-new-privs, Landlock (only the system read+execute, only the work dir writable, no TCP, no
 * signals or abstract sockets outside) and a seccomp filter (no sockets, ptrace, namespaces, mounts,
 * io_uring, ...); it is a subreaper, so every process of the run is killed at the deadline even
 * after {@code setsid()}. Success needs the harness's {@link Evidence} that every part of the
 * {@link Program} ran to its end.
 *
 * <p>At start-up the sandbox self-tests the confinement it will use from inside a confined
 * process (no-new-privs and seccomp mode read back, a connect to a loopback listener opened here,
 * reading a host file, writing a host directory, reading this worker's environment, signalling
 * this worker), logs each layer in force, and names them in every result
 * ({@link SandboxResult#layers()}, {@link #confinement()}). A layer that is applied but does not
 * hold is not named. When no layer that blocks the network and none that blocks the host's files
 * holds, {@code run} refuses untrusted code ({@link SandboxResult#refused()}) unless the operator
 * opted in with {@value #UNSAFE_SETTING}, which is logged loudly and named in every result.
 *
 * <p>A small pool of launchers is started ahead of time ("warm": their confinement is prepared and
 * common modules imported), so a run does not pay the interpreter start-up. Each launcher is a
 * zygote that forks a fresh runner per run (which forks the run's confined process); where the
 * self-test found Landlock and seccomp in force for every run, a launcher serves run after run
 * ({@link #reusesLaunchers()}), so a run costs two forks instead of bubblewrap's set-up and an
 * interpreter start; elsewhere a launcher serves one run and is replaced. {@code run} is safe to
 * call from several threads at once; an interrupted thread's run is killed at once
 * ({@link SandboxInterruptedException}); {@link #close()} kills every run and launcher at once.
 */
public final class PythonSandbox implements AutoCloseable {

  /** The operator's explicit opt-in to run untrusted code when no confining layer works. */
  public static final String UNSAFE_SETTING = "sandbox.unsafe-allow-unconfined";

  private static final Logger log = LoggerFactory.getLogger(PythonSandbox.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long BACKSTOP_GRACE_MS = 3_000;
  private static final long STOP_GRACE_MS = 2_000;
  private static final int FIRST_UID = 61_000;
  private static final int UID_RANGE = 4_000;
  /** Layers the launcher applies to the run's process itself (the others are around it). */
  private static final List<String> CHILD_LAYERS = List.of(Confinement.RLIMITS, Confinement.UID,
      Confinement.NO_NEW_PRIVS, Confinement.LANDLOCK, Confinement.SECCOMP);

  /**
   * How the sandbox is set up.
   *
   * @param warmPoolSize launchers kept started ahead of time (0 = none)
   * @param useBubblewrap use bubblewrap when it works here
   * @param bubblewrap the bwrap binary to use (null: PATH, then /usr/bin)
   * @param unsafeAllowUnconfined run untrusted code even when no layer that blocks the network and
   *     the host's files works ({@value #UNSAFE_SETTING}); every result names it
   * @param workRoot where host work dirs are made when bubblewrap is not used (null: java.io.tmpdir);
   *     point it at a size-bounded file system (a tmpfs, a Kubernetes emptyDir with a sizeLimit) to
   *     bound all runs together as well as each one
   */
  public record Options(int warmPoolSize, boolean useBubblewrap, Path bubblewrap,
      boolean unsafeAllowUnconfined, Path workRoot) {

    public Options(int warmPoolSize, boolean useBubblewrap) {
      this(warmPoolSize, useBubblewrap, null, false, null);
    }

    public static Options defaults() {
      return new Options(2, true);
    }

    /**
     * From role settings: {@code sandbox.warm-pool}, {@code sandbox.bubblewrap} (true/false),
     * {@code sandbox.bubblewrap-path}, {@code sandbox.work-root}, {@value #UNSAFE_SETTING}.
     */
    public static Options fromSettings(Map<String, String> settings, int defaultWarmPool) {
      String warm = settings.get("sandbox.warm-pool");
      String path = settings.get("sandbox.bubblewrap-path");
      String root = settings.get("sandbox.work-root");
      return new Options(warm == null || warm.isBlank() ? defaultWarmPool : Integer.parseInt(warm.strip()),
          !"false".equalsIgnoreCase(settings.getOrDefault("sandbox.bubblewrap", "true").strip()),
          path == null || path.isBlank() ? null : Path.of(path.strip()),
          "true".equalsIgnoreCase(settings.getOrDefault(UNSAFE_SETTING, "false").strip()),
          root == null || root.isBlank() ? null : Path.of(root.strip()));
    }

    public Options withBubblewrap(Path binary) {
      return new Options(warmPoolSize, useBubblewrap, binary, unsafeAllowUnconfined, workRoot);
    }

    public Options withUnsafeAllowUnconfined(boolean unsafe) {
      return new Options(warmPoolSize, useBubblewrap, bubblewrap, unsafe, workRoot);
    }

    public Options withWorkRoot(Path root) {
      return new Options(warmPoolSize, useBubblewrap, bubblewrap, unsafeAllowUnconfined, root);
    }
  }

  private final Path python;
  private final Path launcherDir;
  private final Path launcher;
  private final Path workRoot;
  private final Path bwrap;
  private final boolean root;
  private final Confinement confinement;
  private final List<String> childLayers;
  private final List<String> readExec;
  private final int warmPoolSize;
  private final BlockingQueue<Launcher> pool;
  private final ExecutorService refiller;
  // every launcher is started from this one long-lived thread: the kernel sends a parent-death
  // signal (bubblewrap's --die-with-parent, the launcher's PR_SET_PDEATHSIG) when the parent
  // THREAD ends, and a launcher now outlives the run (and the thread) that started it
  private final ExecutorService spawner;
  private final boolean reusable;
  private final ExecutorService io;
  // each instance starts at a random point of the uid range, so sandboxes of several workers on
  // one host rarely share a uid (RLIMIT_NPROC counts per uid)
  private final AtomicInteger uidSeq = new AtomicInteger(ThreadLocalRandom.current().nextInt(UID_RANGE));
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Set<Process> live = ConcurrentHashMap.newKeySet();

  /** End of a launcher's output. */
  private static final byte[] EOF = new byte[0];

  /**
   * A started launcher (the zygote): its output lines, in order a runner's "ready" line (what it
   * offers), then that run's result, then the next runner's "ready"...; its stderr. Used by one
   * run at a time.
   */
  private static final class Launcher {
    final Process process;
    final BlockingQueue<byte[]> lines = new java.util.concurrent.LinkedBlockingQueue<>();
    final CompletableFuture<byte[]> err;
    /** The current runner's "ready" line was taken already (by the pool's refill). */
    volatile boolean readyTaken;
    int runs;

    Launcher(Process process, CompletableFuture<byte[]> err) {
      this.process = process;
      this.err = err;
    }

    Process process() {
      return process;
    }

    CompletableFuture<byte[]> err() {
      return err;
    }

    /** Its current runner said it is ready (and nothing else came since). */
    boolean readyNow() {
      byte[] line = lines.peek();
      return readyTaken || (line != null && line != EOF && new String(line, StandardCharsets.UTF_8)
          .startsWith("{\"ready\": true"));
    }

    /** The next line, EOF at the end, null when none came within the time. */
    byte[] next(long timeoutMs) throws InterruptedException {
      byte[] line = lines.poll(timeoutMs, TimeUnit.MILLISECONDS);
      if (line == EOF) {
        lines.offer(EOF); // stays at the end for whoever asks next
      }
      return line;
    }

    /** The current runner's "ready" line, or null when the launcher failed or did not say it. */
    JsonNode ready(long timeoutMs) throws InterruptedException {
      if (readyTaken) {
        readyTaken = false;
        return JSON.createObjectNode().put("ready", true);
      }
      byte[] line = next(timeoutMs);
      if (line == null || line == EOF) {
        return null;
      }
      try {
        JsonNode info = JSON.readTree(new String(line, StandardCharsets.UTF_8).strip());
        return info != null && info.path("ready").asBoolean(false) ? info : null;
      } catch (IOException e) {
        return null;
      }
    }
  }

  private PythonSandbox(Options options, Set<String> disabled, Path python) throws IOException {
    this.python = python;
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
    launcherDir.toFile().setReadable(true, false);
    this.workRoot = options.workRoot() != null ? options.workRoot()
        : Path.of(System.getProperty("java.io.tmpdir"));
    this.root = isUidZero();
    this.readExec = readExecPaths(python);
    this.io = Executors.newCachedThreadPool(daemon("fractal-sandbox-io"));
    this.warmPoolSize = Math.max(0, options.warmPoolSize());
    // idle launchers kept: the warm pool, or as many as runs went on at once (up to the cores)
    this.pool = new ArrayBlockingQueue<>(Math.max(Math.max(1, warmPoolSize),
        Runtime.getRuntime().availableProcessors()));
    this.refiller = Executors.newSingleThreadExecutor(daemon("fractal-sandbox-pool"));
    this.spawner = Executors.newSingleThreadExecutor(daemon("fractal-sandbox-spawn"));

    String bwrapState;
    Path usable = null;
    if (!options.useBubblewrap() || disabled.contains(Confinement.BUBBLEWRAP)) {
      bwrapState = "disabled";
    } else {
      Path found = Bubblewrap.find(options.bubblewrap()).orElse(null);
      if (found == null) {
        bwrapState = "not installed" + (options.bubblewrap() != null ? " at " + options.bubblewrap() : "");
      } else if (!Bubblewrap.works(found, python, !root)) {
        bwrapState = "installed at " + found + " but it cannot create its namespaces here";
      } else {
        bwrapState = "in force";
        usable = found;
      }
    }
    this.bwrap = usable;
    SelfTest test;
    try {
      test = selfTest(disabled, options.unsafeAllowUnconfined(), bwrapState);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    this.confinement = test.confinement();
    this.childLayers = test.childLayers();
    // one launcher serves run after run only where each run's own Landlock domain (its work dir
    // alone; no signals, ptrace or abstract sockets outside it) and seccomp filter hold: those are
    // what keep a run from the zygote, from the runs before it and from their report channels
    this.reusable = childLayers.contains(Confinement.LANDLOCK) && childLayers.contains(Confinement.SECCOMP);
    logConfinement();
    log.info(reusable ? "sandbox launchers are zygotes: each forks a fresh runner, and that runner the "
        + "run's confined process, run after run (a Landlock domain and seccomp filter per run keep "
        + "runs apart)" : "one sandbox launcher per run (reusing one needs Landlock and seccomp in force)");
    if (confinement.runsCode()) {
      for (int i = 0; i < warmPoolSize; i++) {
        refiller.execute(this::refill);
      }
    }
  }

  public static PythonSandbox create() {
    return create(Options.defaults());
  }

  public static PythonSandbox create(Options options) {
    return create(options, Set.of());
  }

  /**
   * For tests only: a sandbox with the named layers switched off ({@link Confinement#BUBBLEWRAP},
   * {@link Confinement#LANDLOCK}, {@link Confinement#SECCOMP}, {@link Confinement#NO_NEW_PRIVS}),
   * to show what happens on a machine that lacks them. Not reachable from any setting.
   */
  static PythonSandbox create(Options options, Set<String> disabledLayers) {
    return create(options, disabledLayers, PythonLocator.locate());
  }

  /**
   * For tests only: as {@link #create(Options, Set)} with this interpreter instead of
   * {@value PythonLocator#ENV}'s.
   */
  static PythonSandbox create(Options options, Set<String> disabledLayers, Path python) {
    try {
      return new PythonSandbox(options, Set.copyOf(disabledLayers), python);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The confinement every run gets, as the start-up self-test found it. */
  public Confinement confinement() {
    return confinement;
  }

  /**
   * The legacy one-symbol summary of the schema's {@code isolation} field: BUBBLEWRAP when
   * bubblewrap is in force; RLIMITS otherwise, also when Landlock and seccomp confine every run
   * (the enum, released in v1, has no symbol for them); NONE when runs are refused. It is not the
   * record of truth: {@link #confinement()} (and each run's {@link SandboxResult#layers()}, written
   * to {@code isolation_layers} of every ExecutionResult and ValidationOutcome) names every layer
   * the self-test found in force, and decisions (which findings block) are made from those.
   */
  public Isolation isolation() {
    if (!confinement.runsCode()) {
      return Isolation.NONE;
    }
    return bwrap != null ? Isolation.BUBBLEWRAP : Isolation.RLIMITS;
  }

  /**
   * Whether one launcher serves run after run (a zygote forking a runner per run): only where the
   * self-test found Landlock and seccomp in force for every run's process.
   */
  public boolean reusesLaunchers() {
    return reusable && warmPoolSize > 0;
  }

  /** Launchers started and waiting for a program, their runner ready for it. */
  public int warmCount() {
    return (int) pool.stream().filter(Launcher::readyNow).count();
  }

  public Path python() {
    return python;
  }

  /** Runs {@code code} alone as {@code main.py}: {@code run(Program.solutionOnly(code), limits)}. */
  public SandboxResult run(String code, SandboxLimits limits) {
    return run(Program.solutionOnly(code), limits);
  }

  /**
   * Runs {@code program} in a fresh sandbox with the given limits; a refused result (nothing ran)
   * when the confinement does not hold.
   *
   * @throws SandboxInterruptedException when the calling thread is interrupted (the run is killed
   *     at once and the interrupt flag set again) or the sandbox is closed while it runs
   */
  public SandboxResult run(Program program, SandboxLimits limits) {
    if (closed.get()) {
      throw new IllegalStateException("sandbox closed");
    }
    if (!confinement.runsCode()) {
      return refusedResult(program);
    }
    if (Thread.currentThread().isInterrupted()) {
      throw new SandboxInterruptedException("interrupted before the run started");
    }
    Launcher pooled = pool.poll();
    boolean warm = pooled != null && pooled.process().isAlive();
    if (pooled != null && !warm) {
      destroyTree(pooled.process());
      cleanUp(pooled, null, true);
    }
    Launcher launcher = warm ? pooled : start();
    boolean kept = false;
    try {
      Outcome outcome = runIn(launcher, program, limits, warm);
      if (outcome.result() == null) {
        // the pooled launcher had died while idle (its runner never said it was ready): nothing
        // ran, so the run goes to a fresh launcher once
        retire(launcher);
        launcher = start();
        warm = false;
        outcome = runIn(launcher, program, limits, false); // not warm: always a result
      }
      // the run is over and every process of it dead: its launcher (zygote) serves the next run
      kept = outcome.reusable() && reusable && warmPoolSize > 0 && !closed.get()
          && launcher.process().isAlive() && pool.offer(launcher);
      if (kept && closed.get() && pool.remove(launcher)) {
        kept = false;
      }
      return outcome.result();
    } finally {
      if (!kept) {
        retire(launcher);
        if (warmPoolSize > 0 && pool.size() < warmPoolSize && !closed.get()) {
          // replace the launcher taken once the run is over, so starting the next one does not
          // compete with this run for the CPU
          try {
            refiller.execute(this::refill);
          } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile: no launcher to replace
          }
        }
      }
    }
  }

  /** A run's result, and whether its launcher may serve another run. */
  private record Outcome(SandboxResult result, boolean reusable) {}

  /** Ends a launcher that serves no more runs: its input ends, so its zygote stops. */
  private void retire(Launcher launcher) {
    try {
      launcher.process().getOutputStream().close();
    } catch (IOException e) {
      // it is gone already
    }
    cleanUp(launcher, null, false);
  }

  private SandboxResult refusedResult(Program program) {
    return new SandboxResult(null, false, "", 0, "", 0,
        new PythonError(SandboxResult.REFUSED, confinement.refusal(), null, null), 0, null,
        Isolation.NONE, false, null, Evidence.none(program.hasTests()), List.of());
  }

  private Outcome runIn(Launcher launcher, Program program, SandboxLimits limits, boolean warm) {
    Process process = launcher.process();
    Path hostWorkDir = null;
    Integer uid = null;
    boolean stopped = false;
    boolean done = false;
    try {
      ObjectNode header = JSON.createObjectNode();
      String runId = UUID.randomUUID().toString();
      header.put("run", runId);
      if (bwrap != null) {
        // a fresh dir per run beneath the launcher's tmpfs /work, which its zygote empties after
        // every run; the run's Landlock domain grants this dir alone
        header.put("workdir", "/work/run-" + UUID.randomUUID().toString().replace("-", ""));
        header.put("make_workdir", true);
        header.put("own_pid_namespace", true);
      } else {
        hostWorkDir = Files.createTempDirectory(workRoot, "fractal-run-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        header.put("workdir", hostWorkDir.toString());
        header.put("own_pid_namespace", false);
      }
      header.put("timeout_ms", limits.timeoutMs());
      header.put("memory_mb", limits.memoryMb());
      header.put("max_processes", limits.maxProcesses());
      header.put("max_output_bytes", limits.maxOutputBytes());
      header.put("file_size_bytes", limits.fileSizeBytes());
      header.put("workdir_bytes", limits.workDirBytes());
      header.put("cpu_seconds", limits.cpuSeconds());
      if (childLayers.contains(Confinement.UID)) {
        uid = FIRST_UID + Math.floorMod(uidSeq.getAndIncrement(), UID_RANGE);
        header.put("uid", uid);
      }
      header.set("layers", JSON.valueToTree(childLayers));
      header.set("read_exec", JSON.valueToTree(readExec));
      ObjectNode parts = header.putObject("program");
      parts.put("solution", program.solution());
      parts.put("entry_point", program.entryPoint());
      // the tests follow the header as a payload of their own, which the launcher reads only
      // after the solution's process has been forked: no copy of them is ever in its memory
      byte[] tests = program.tests() == null ? null : JSON.writeValueAsBytes(program.tests());
      if (tests != null) {
        header.put("tests_bytes", tests.length);
      }
      send(process, header, tests);
      long started = System.nanoTime();
      long backstop = limits.timeoutMs() + BACKSTOP_GRACE_MS;
      byte[] line;
      try {
        JsonNode ready = launcher.ready(backstop);
        if (ready == null && warm) {
          return new Outcome(null, false); // see run: nothing ran
        }
        line = ready == null ? EOF : launcher.next(backstop - (System.nanoTime() - started) / 1_000_000);
      } catch (InterruptedException e) {
        stopped = true;
        stop(process);
        Thread.currentThread().interrupt();
        throw new SandboxInterruptedException("interrupted: the run was killed");
      }
      launcher.runs++;
      if (closed.get()) {
        stopped = true;
        throw new SandboxInterruptedException("the sandbox was closed while the run was in progress");
      }
      if (line == null) {
        stopped = true;
        destroyTree(process);
        long ms = (System.nanoTime() - started) / 1_000_000;
        log.warn("sandbox launcher did not finish; killed its process tree after {} ms", ms);
        return new Outcome(new SandboxResult(null, true, "", 0, "", 0,
            new PythonError("TimeoutError", "wall-clock limit of " + limits.timeoutMs()
                + " ms exceeded; the sandbox was killed", null, null),
            ms, null, isolation(), warm, uid, Evidence.none(program.hasTests()), runLayers(null)), false);
      }
      // the launcher printed this run's result: it killed every process of the run before it did
      done = line.length > 0 && line[0] == '{' && runId.equals(runOf(line));
      if (line.length > 0 && line[0] == '{' && !done) {
        // a line that is not this run's result (a runner died before it read its run): the
        // launcher's lines are out of step, so it serves no run more
        destroyTree(process);
        return new Outcome(launcherFailed(launcher, program, warm, uid), false);
      }
      return new Outcome(parse(line, launcher, program, warm, uid), done);
    } catch (IOException e) {
      throw new UncheckedIOException("sandbox run failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      stopped = true;
      stop(process);
      Thread.currentThread().interrupt();
      throw new SandboxInterruptedException("interrupted: the run was killed");
    } finally {
      if (done) {
        Path dir = hostWorkDir;
        if (dir != null) {
          io.execute(() -> deleteTree(dir));
        }
      } else {
        if (!stopped && process.isAlive()) {
          destroyTree(process);
        }
        cleanUp(launcher, hostWorkDir, true);
      }
    }
  }

  /**
   * One run: its header's length as a decimal line, the header (JSON), then the tests (a JSON
   * string, {@code tests_bytes} long) if it has any. The runner reads exactly these bytes, never
   * ahead, so the tests stay in the pipe until it has forked the run's child. The launcher's
   * input stays open for the next run.
   */
  private static void send(Process process, ObjectNode header, byte[] tests) {
    try {
      OutputStream stdin = process.getOutputStream();
      stdin.write(frame(header, tests));
      stdin.flush();
    } catch (IOException e) {
      log.debug("launcher stdin closed early", e);
    }
  }

  /** A run's input as the launcher reads it (see {@link #send}); {@code tests} may be null. */
  static byte[] frame(ObjectNode header, byte[] tests) throws IOException {
    byte[] head = JSON.writeValueAsBytes(header);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(
        head.length + 12 + (tests == null ? 0 : tests.length));
    out.write((head.length + "\n").getBytes(StandardCharsets.US_ASCII));
    out.write(head);
    if (tests != null) {
      out.write(tests);
    }
    return out.toByteArray();
  }

  /** The result is in once the launcher printed it; its exit and the clean-up are not on the caller's clock. */
  private void cleanUp(Launcher launcher, Path hostWorkDir, boolean stopped) {
    Process process = launcher.process();
    try {
      io.execute(() -> {
        try {
          if (!process.waitFor(stopped ? STOP_GRACE_MS : 10_000, TimeUnit.MILLISECONDS)) {
            destroyTree(process);
            process.waitFor(STOP_GRACE_MS, TimeUnit.MILLISECONDS);
          }
        } catch (InterruptedException e) {
          destroyTree(process);
          Thread.currentThread().interrupt();
        } finally {
          forget(process, hostWorkDir);
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      // the sandbox closed while this run ended (close() stops the clean-up threads): nothing may
      // outlive it, so the run's processes go now, on the caller's thread
      destroyTree(process);
      forget(process, hostWorkDir);
    }
  }

  private void forget(Process process, Path hostWorkDir) {
    live.remove(process);
    if (hostWorkDir != null) {
      deleteTree(hostWorkDir);
    }
  }

  private SandboxResult parse(byte[] stdout, Launcher launcher, Program program, boolean warm, Integer uid)
      throws IOException, InterruptedException {
    String json = new String(stdout, StandardCharsets.UTF_8).strip();
    if (json.isEmpty() || json.charAt(0) != '{') {
      return launcherFailed(launcher, program, warm, uid);
    }
    JsonNode r = JSON.readTree(json);
    PythonError error = null;
    JsonNode e = r.get("error");
    if (e != null && !e.isNull()) {
      error = new PythonError(e.path("type").asText("Exception"), e.path("message").asText(""),
          e.hasNonNull("traceback") ? e.get("traceback").asText() : null,
          e.hasNonNull("line") ? e.get("line").asInt() : null);
    }
    JsonNode ev = r.path("evidence");
    Evidence evidence = new Evidence(program.hasTests(), ev.path("solution_completed").asBoolean(false),
        ev.path("tests_completed").asBoolean(false),
        ev.hasNonNull("failed_in") ? Evidence.Phase.valueOf(ev.get("failed_in").asText()) : null);
    List<String> applied = null;
    if (r.hasNonNull("layers")) {
      applied = new ArrayList<>();
      for (JsonNode l : r.get("layers")) {
        applied.add(l.asText());
      }
    }
    if (error == null && (applied == null || !applied.containsAll(childLayers))) {
      // the run was not confined as the self-test was: it is not a result
      error = new PythonError("SandboxError", "the run's process was not confined as expected "
          + "(applied " + applied + ", expected " + childLayers + ")", null, null);
    }
    return new SandboxResult(
        r.hasNonNull("exit_code") ? r.get("exit_code").asInt() : null,
        r.path("timed_out").asBoolean(false),
        r.path("stdout").asText(""), r.path("stdout_size").asLong(0),
        r.path("stderr").asText(""), r.path("stderr_size").asLong(0),
        error, r.path("duration_ms").asLong(0),
        r.hasNonNull("peak_memory_kb") ? r.get("peak_memory_kb").asLong() : null,
        isolation(), warm, uid, evidence, runLayers(applied));
  }

  private static String runOf(byte[] line) {
    try {
      return JSON.readTree(line).path("run").asText(null);
    } catch (IOException e) {
      return null;
    }
  }

  private SandboxResult launcherFailed(Launcher launcher, Program program, boolean warm, Integer uid)
      throws InterruptedException {
    Process p = launcher.process();
    int exit = p.waitFor(1, TimeUnit.SECONDS) ? p.exitValue() : -1;
    String why = new String(stderrOf(launcher), StandardCharsets.UTF_8).strip();
    return new SandboxResult(null, false, "", 0, "", 0,
        new PythonError("SandboxError", "the sandbox launcher failed (exit " + exit + ")"
            + (why.isEmpty() ? "" : ": " + why), null, null), 0, null, isolation(), warm, uid,
        Evidence.none(program.hasTests()), runLayers(null));
  }

  /** The layers of one run: those around it, and those its process reported applied. */
  private List<String> runLayers(List<String> applied) {
    List<String> layers = new ArrayList<>();
    for (String l : confinement.layers()) {
      boolean perRun = CHILD_LAYERS.contains(l);
      if (!perRun || applied == null || applied.contains(l)) {
        layers.add(l);
      }
    }
    return layers;
  }

  private static byte[] stderrOf(Launcher launcher) {
    try {
      return launcher.err().get(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new byte[0];
    } catch (ExecutionException | TimeoutException e) {
      return launcher.err().getNow(new byte[0]);
    }
  }

  // ------------------------------------------------------------------------------------------
  // start-up self-test
  // ------------------------------------------------------------------------------------------

  private record SelfTest(Confinement confinement, List<String> childLayers) {}

  private SelfTest selfTest(Set<String> disabled, boolean unsafe, String bwrapState) throws IOException {
    Path probeDir = Files.createTempDirectory("fractal-probe-");
    Path hostDir = Files.createDirectory(probeDir.resolve("writable"));
    Path hostFile = Files.writeString(probeDir.resolve("secret.txt"), "secret-" + UUID.randomUUID());
    probeDir.toFile().setExecutable(true, false);
    probeDir.toFile().setReadable(true, false);
    hostFile.toFile().setReadable(true, false);
    Files.setPosixFilePermissions(hostDir, PosixFilePermissions.fromString("rwxrwxrwx"));
    try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      listener.setSoTimeout(100);
      AtomicInteger accepted = new AtomicInteger();
      AtomicBoolean listening = new AtomicBoolean(true);
      CompletableFuture<Void> acceptor = CompletableFuture.runAsync(() -> {
        while (listening.get()) {
          try (Socket s = listener.accept()) {
            accepted.incrementAndGet();
          } catch (SocketTimeoutException e) {
            // keep listening until the probe is over
          } catch (IOException e) {
            return;
          }
        }
      }, io);
      JsonNode ready = null;
      JsonNode result = null;
      List<String> attempt = null;
      String setupError = null;
      Set<String> off = new LinkedHashSet<>(disabled);
      for (int tries = 0; tries < 4; tries++) {
        Launcher l = start();
        try {
          ready = l.ready(30_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          destroyTree(l.process());
          throw new IllegalStateException("interrupted during the sandbox self-test", e);
        }
        if (ready == null) {
          destroyTree(l.process());
          cleanUp(l, null, true);
          setupError = "the launcher did not start: "
              + new String(stderrOf(l), StandardCharsets.UTF_8).strip();
          break;
        }
        attempt = candidateLayers(ready, off);
        ObjectNode header = JSON.createObjectNode();
        Path work = bwrap != null ? null : Files.createTempDirectory(workRoot, "fractal-run-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        header.put("workdir", work == null ? "/work/run-selftest" : work.toString());
        header.put("make_workdir", work == null);
        header.put("own_pid_namespace", bwrap != null);
        SandboxLimits limits = SandboxLimits.defaults().withTimeoutMs(30_000);
        header.put("timeout_ms", limits.timeoutMs());
        header.put("memory_mb", limits.memoryMb());
        header.put("max_processes", limits.maxProcesses());
        header.put("max_output_bytes", limits.maxOutputBytes());
        header.put("file_size_bytes", limits.fileSizeBytes());
        header.put("cpu_seconds", limits.cpuSeconds());
        header.put("workdir_bytes", limits.workDirBytes());
        if (attempt.contains(Confinement.UID)) {
          header.put("uid", FIRST_UID + Math.floorMod(uidSeq.getAndIncrement(), UID_RANGE));
        }
        header.set("layers", JSON.valueToTree(attempt));
        header.set("read_exec", JSON.valueToTree(readExec));
        ObjectNode params = header.putObject("selftest");
        params.put("port", listener.getLocalPort());
        params.put("host_file", hostFile.toString());
        params.put("host_dir", hostDir.toString());
        params.put("worker_pid", ProcessHandle.current().pid());
        send(l.process(), header, null);
        try {
          byte[] line = l.next(60_000);
          result = line == null ? null : JSON.readTree(new String(line, StandardCharsets.UTF_8).strip());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted during the sandbox self-test", e);
        } catch (IOException e) {
          result = null;
        } finally {
          try {
            l.process().getOutputStream().close();
          } catch (IOException e) {
            // gone already
          }
          cleanUp(l, work, false);
        }
        if (result != null && result.hasNonNull("selftest")) {
          break;
        }
        // a layer could not be applied: say which, go on without it
        String message = result == null ? "no result"
            : result.path("error").path("message").asText("no self-test report");
        setupError = message;
        String failed = message.contains(Confinement.WORKDIR_TMPFS) ? Confinement.WORKDIR_TMPFS
            : message.contains("landlock") ? Confinement.LANDLOCK
            : message.contains("seccomp") ? Confinement.SECCOMP
            : message.contains("prctl") ? Confinement.NO_NEW_PRIVS : null;
        log.warn("sandbox self-test: {}", message);
        if (failed == null) {
          break;
        }
        off.add(failed);
        if (failed.equals(Confinement.NO_NEW_PRIVS)) {
          off.add(Confinement.LANDLOCK);
          off.add(Confinement.SECCOMP);
        }
      }
      listening.set(false);
      acceptor.join();
      return evaluate(ready, result, attempt, accepted.get(), bwrapState, unsafe, setupError);
    } finally {
      deleteTree(probeDir);
    }
  }

  /** The layers to try: all the launcher can apply here, minus those switched off. */
  private List<String> candidateLayers(JsonNode ready, Set<String> off) {
    List<String> layers = new ArrayList<>();
    if (bwrap == null && !off.contains(Confinement.WORKDIR_TMPFS)) {
      layers.add(Confinement.WORKDIR_TMPFS); // bubblewrap's /work is a bounded tmpfs already
    }
    layers.add(Confinement.RLIMITS);
    if (root) {
      layers.add(Confinement.UID);
    }
    boolean kernel = !off.contains(Confinement.NO_NEW_PRIVS);
    if (kernel) {
      layers.add(Confinement.NO_NEW_PRIVS);
    }
    if (kernel && !off.contains(Confinement.LANDLOCK) && ready.path("landlock_abi").asInt(0) > 0) {
      layers.add(Confinement.LANDLOCK);
    }
    if (kernel && !off.contains(Confinement.SECCOMP) && ready.hasNonNull("seccomp_arch")) {
      layers.add(Confinement.SECCOMP);
    }
    return layers;
  }

  private SelfTest evaluate(JsonNode ready, JsonNode result, List<String> attempted, int accepted,
      String bwrapState, boolean unsafe, String setupError) {
    Map<String, String> checks = new LinkedHashMap<>();
    if (result != null) {
      result.path("selftest").fields().forEachRemaining(f -> checks.put(f.getKey(), f.getValue().asText()));
    }
    List<String> applied = new ArrayList<>();
    if (result != null && result.hasNonNull("layers")) {
      result.get("layers").forEach(l -> applied.add(l.asText()));
    }
    int abi = ready == null ? 0 : ready.path("landlock_abi").asInt(0);
    String arch = ready == null || !ready.hasNonNull("seccomp_arch") ? null : ready.get("seccomp_arch").asText();
    boolean subreaper = ready != null && ready.path("subreaper").asBoolean(false);
    boolean probed = !checks.isEmpty();
    boolean bwrapOk = bwrap != null && probed && denied(checks, "read_host_file")
        && denied(checks, "write_host_dir") && denied(checks, "connect_loopback")
        && denied(checks, "read_worker_environ") && accepted == 0;
    boolean landlockOk = applied.contains(Confinement.LANDLOCK) && denied(checks, "read_host_file")
        && denied(checks, "write_host_dir") && denied(checks, "write_tmp")
        && denied(checks, "write_dev_shm") && denied(checks, "read_worker_environ")
        && (abi < 4 || denied(checks, "connect_loopback_preopened"))
        && (abi < 6 || (denied(checks, "signal_launcher") && denied(checks, "signal_zygote")));
    boolean seccompOk = applied.contains(Confinement.SECCOMP) && "2".equals(checks.get("seccomp_mode"))
        && denied(checks, "socket_inet") && denied(checks, "socket_unix") && denied(checks, "unshare")
        && denied(checks, "io_uring_setup") && denied(checks, "ptrace") && denied(checks, "memfd_create");
    boolean nnpOk = applied.contains(Confinement.NO_NEW_PRIVS) && "1".equals(checks.get("no_new_privs"));
    boolean uidOk = applied.contains(Confinement.UID) && !"0".equals(checks.get("uid"));
    long bound = SandboxLimits.defaults().workDirBytes();
    boolean tmpfsOk = applied.contains(Confinement.WORKDIR_TMPFS)
        && ("own " + ((bound + 4095) / 4096 * 4096)).equals(checks.get("workdir_fs"))
        && (root || "0000000000000000".equals(checks.get("cap_eff")));
    boolean rlimitsOk = applied.contains(Confinement.RLIMITS) && String.valueOf(
        SandboxLimits.defaults().memoryMb() * 1024L * 1024).equals(checks.get("rlimit_as"));

    List<String> layers = new ArrayList<>();
    List<String> child = new ArrayList<>();
    if (bwrapOk) {
      layers.add(Confinement.BUBBLEWRAP);
      layers.add(Confinement.PID_NAMESPACE);
    }
    Map<String, Boolean> perRun = new LinkedHashMap<>();
    perRun.put(Confinement.WORKDIR_TMPFS, tmpfsOk);
    perRun.put(Confinement.LANDLOCK, landlockOk);
    perRun.put(Confinement.SECCOMP, seccompOk);
    perRun.put(Confinement.NO_NEW_PRIVS, nnpOk);
    perRun.put(Confinement.UID, uidOk);
    perRun.put(Confinement.RLIMITS, rlimitsOk);
    for (Map.Entry<String, Boolean> l : perRun.entrySet()) {
      if (l.getValue()) {
        layers.add(l.getKey());
        child.add(l.getKey());
      } else if (applied.contains(l.getKey())) {
        log.error("sandbox layer {} was applied but the self-test shows it does not hold: {}",
            l.getKey(), checks);
      }
    }
    if (subreaper) {
      layers.add(Confinement.SUBREAPER);
    }
    boolean blocksNetwork = probed && denied(checks, "connect_loopback") && accepted == 0
        && (bwrapOk || seccompOk || (landlockOk && abi >= 4));
    boolean blocksHostFiles = probed && denied(checks, "read_host_file") && denied(checks, "write_host_dir")
        && denied(checks, "read_worker_environ") && (bwrapOk || landlockOk);
    boolean ordinaryBroken = false;
    for (String ordinary : List.of("write_workdir", "socketpair", "fork", "spawn")) {
      if (probed && !String.valueOf(checks.get(ordinary)).startsWith("allowed")) {
        ordinaryBroken = true;
        log.warn("the sandbox's confinement breaks an ordinary program here ({}: {})", ordinary,
            checks.get(ordinary));
      }
    }
    String refusal = null;
    // Without bubblewrap a run under a uid of its own walks the host's directories to the
    // interpreter's standard library; one it cannot enter makes every import after the start
    // fail, and correct programs would be judged failed: refuse, and say what to change.
    Optional<Path> closed = ordinaryBroken && uidOk && !bwrapOk
        ? PythonLocator.closedToOthers(python) : Optional.empty();
    if (closed.isPresent()) {
      refusal = "the interpreter " + python + " is installed under " + closed.get()
          + ", which other users cannot enter (no search permission for others), and each"
          + " sandboxed run has a uid of its own: its standard library would not import inside"
          + " the sandbox, so correct programs would fail. Install the interpreter where every"
          + " user may enter (e.g. under /usr or /opt) and set " + PythonLocator.ENV
          + ", open the directory (chmod o+x " + closed.get() + "), or install bubblewrap"
          + " (which makes the directories above the interpreter in the sandbox's own root).";
      log.error("sandbox refuses to run code: {}", refusal);
    }
    if (!(blocksNetwork && blocksHostFiles)) {
      String missing = missingSandbox(bwrapState, abi, arch, attempted, setupError);
      if (unsafe) {
        layers.add(Confinement.UNSAFE);
        log.error("!!! UNSAFE: {}=true — untrusted code will run WITHOUT confinement of the network "
            + "and the host's files. {} Every result names the layer {}.", UNSAFE_SETTING, missing,
            Confinement.UNSAFE);
      } else if (refusal == null) {
        refusal = missing;
      }
    }
    // the child layers also run in unsafe mode: whatever holds is applied
    return new SelfTest(new Confinement(layers, blocksNetwork, blocksHostFiles,
        unsafe && refusal == null && !(blocksNetwork && blocksHostFiles), landlockOk ? abi : 0,
        seccompOk ? arch : null, bwrapOk ? "in force" : bwrapState, checks, refusal), child);
  }

  private static boolean denied(Map<String, String> checks, String name) {
    return String.valueOf(checks.get(name)).startsWith("denied");
  }

  private static String missingSandbox(String bwrapState, int abi, String arch, List<String> attempted,
      String setupError) {
    String landlock = abi == 0 ? "not available (this kernel has no Landlock, or it is not enabled)"
        : attempted != null && !attempted.contains(Confinement.LANDLOCK) ? "disabled"
        : "ABI " + abi + " but it did not hold";
    String seccomp = arch == null ? "not available on this architecture or kernel"
        : attempted != null && !attempted.contains(Confinement.SECCOMP) ? "disabled" : "did not hold";
    return "no sandbox layer that blocks both the network and the host's files works here "
        + "(bubblewrap: " + bwrapState + "; Landlock: " + landlock + "; seccomp: " + seccomp
        + (setupError == null ? "" : "; " + setupError) + "), so untrusted code is not run. "
        + "To get one: use a Linux kernel >= 5.13 with Landlock enabled (CONFIG_SECURITY_LANDLOCK=y "
        + "and 'landlock' in the lsm= boot parameter; ABI >= 4, kernel 6.7, also denies TCP), "
        + "where containers allow the landlock_* syscalls (Docker >= 20.10.18, containerd >= 1.6); "
        + "or install bubblewrap (apt-get install bubblewrap) and allow it to create namespaces "
        + "(run as root, or enable unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1 "
        + "/ user.max_user_namespaces > 0). To run untrusted code unconfined anyway, at your own "
        + "risk, set " + UNSAFE_SETTING + "=true.";
  }

  private void logConfinement() {
    Confinement c = confinement;
    log.info("Python sandbox with {}: {}", python, c.describe());
    for (String layer : c.layers()) {
      log.info("sandbox layer in force: {} — {}", layer, explain(layer, c));
    }
    if (!c.layers().contains(Confinement.BUBBLEWRAP)) {
      log.info("sandbox layer not in force: bubblewrap ({})", c.bubblewrap());
      if (!c.layers().contains(Confinement.WORKDIR_TMPFS) && c.runsCode()) {
        log.warn("sandbox layer not in force: {} ({}) — the work-dir bound is a check every few ms "
            + "that a fast writer can overshoot", Confinement.WORKDIR_TMPFS,
            c.selfTest().getOrDefault("workdir_fs", "no self-test"));
      }
    }
    for (String layer : List.of(Confinement.LANDLOCK, Confinement.SECCOMP, Confinement.NO_NEW_PRIVS)) {
      if (!c.layers().contains(layer)) {
        log.warn("sandbox layer not in force: {}", layer);
      }
    }
    if (!c.runsCode()) {
      log.error("the Python sandbox REFUSES untrusted code: {}", c.refusal());
    }
  }

  private String explain(String layer, Confinement c) {
    return switch (layer) {
      case Confinement.BUBBLEWRAP -> "namespaces net, pid, ipc, uts, mount; read-only system, tmpfs "
          + "/work /tmp /dev/shm bounded; empty environment";
      case Confinement.PID_NAMESPACE -> "every process of a run dies with its namespace";
      case Confinement.WORKDIR_TMPFS -> "each run's work dir is a tmpfs of its bound in a mount namespace "
          + "of its own: a write past the bound fails (ENOSPC)";
      case Confinement.LANDLOCK -> "ABI " + c.landlockAbi() + ": read+execute " + readExec
          + ", read-write only the run's work dir" + (c.landlockAbi() >= 4 ? "; TCP bind/connect denied" : "")
          + (c.landlockAbi() >= 6 ? "; abstract unix sockets and signals scoped to the run" : "");
      case Confinement.SECCOMP -> c.seccompArch() + " filter: no sockets, ptrace, namespaces, mounts, "
          + "io_uring, bpf, keyrings, memfd, SysV/POSIX IPC; x32 and foreign arches denied";
      case Confinement.NO_NEW_PRIVS -> "no privilege gain through execve";
      case Confinement.UID -> "a per-run unprivileged uid in " + FIRST_UID + ".." + (FIRST_UID + UID_RANGE - 1);
      case Confinement.RLIMITS -> "address space, CPU, file size, open files, processes, no core dumps";
      case Confinement.SUBREAPER -> "orphans of a run (setsid) stay the launcher's and die at the deadline";
      default -> "the operator opted in to running untrusted code without confinement";
    };
  }

  // ------------------------------------------------------------------------------------------
  // launchers
  // ------------------------------------------------------------------------------------------

  private void refill() {
    if (closed.get()) {
      return;
    }
    try {
      Launcher l = start();
      JsonNode info = l.ready(30_000);
      l.readyTaken = info != null;
      if (info == null || closed.get() || !pool.offer(l)) {
        destroyTree(l.process());
        cleanUp(l, null, true);
      }
      if (closed.get()) {
        drainPool();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.warn("could not start a warm sandbox launcher: {}", e.toString());
    }
  }

  /** A new launcher, started from the spawner thread (see {@link #spawner}). */
  private Launcher start() {
    if (Thread.currentThread().getName().startsWith("fractal-sandbox-spawn")) {
      return spawn();
    }
    try {
      return spawner.submit(this::spawn).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SandboxInterruptedException("interrupted while starting a sandbox launcher");
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r
          : new IllegalStateException("cannot start the sandbox", e.getCause());
    } catch (java.util.concurrent.RejectedExecutionException e) {
      throw new SandboxInterruptedException("the sandbox was closed");
    }
  }

  private Launcher spawn() {
    List<String> cmd = new ArrayList<>();
    if (bwrap != null) {
      cmd.addAll(Bubblewrap.prefix(bwrap, python, !root));
      cmd.add("--ro-bind");
      cmd.add(launcher.toString());
      cmd.add("/fractal/launcher.py");
      cmd.add("--setenv");
      cmd.add("FRACTAL_GUARDED_PIDS");
      cmd.add("");
      cmd.add(python.toString());
      cmd.add("-I");
      cmd.add("/fractal/launcher.py");
      cmd.add("--own-pid-namespace");
    } else {
      cmd.add(python.toString());
      cmd.add("-I");
      cmd.add(launcher.toString());
    }
    cmd.add("--warm");
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().clear();
    pb.environment().put("PATH", "/usr/bin:/bin");
    pb.environment().put("LANG", "C.UTF-8");
    // without Landlock's signal scope the seccomp filter keeps these pids out of kill()'s reach
    pb.environment().put("FRACTAL_GUARDED_PIDS", Long.toString(ProcessHandle.current().pid()));
    pb.directory(launcherDir.toFile());
    try {
      Process p = pb.start();
      live.add(p);
      Launcher l = new Launcher(p, readAsync(p.getErrorStream(), 16 * 1024));
      io.execute(() -> readLauncher(p.getInputStream(), l.lines));
      return l;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the sandbox: " + cmd, e);
    }
  }

  /** The paths the run may read and execute beneath: the system, and the interpreter's prefix. */
  private static List<String> readExecPaths(Path python) {
    Set<String> paths = new LinkedHashSet<>(List.of("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"));
    PythonLocator.prefixesOutsideUsr(python).forEach(p -> paths.add(p.toString()));
    return List.copyOf(paths);
  }

  private static boolean isUidZero() {
    try {
      Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      return uid instanceof Integer i && i == 0;
    } catch (Exception e) {
      return "root".equals(System.getProperty("user.name"));
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

  /** The launcher's lines (its runners' "ready" lines and results), then EOF. */
  private static void readLauncher(InputStream in, BlockingQueue<byte[]> lines) {
    try (in) {
      BufferedInputStream bin = new BufferedInputStream(in);
      while (true) {
        byte[] line = readLine(bin, 64L * 1024 * 1024);
        if (line.length == 0) {
          break;
        }
        lines.offer(line);
      }
    } catch (IOException | RuntimeException e) {
      // the launcher is gone: what was read is all there is
    } finally {
      lines.offer(EOF);
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

  /**
   * Kills one run at once: bubblewrap's pid namespace dies with it; a launcher without one is
   * asked (SIGTERM) to kill its run's processes, which it reaps as their subreaper, while the ones
   * seen now are killed from here too; a backstop SIGKILLs whatever is left after a grace period.
   */
  private void stop(Process p) {
    if (bwrap != null) {
      destroyTree(p);
      return;
    }
    p.destroy();
    try (Stream<ProcessHandle> d = p.descendants()) {
      d.forEach(ProcessHandle::destroyForcibly);
    }
  }

  static void destroyTree(Process p) {
    try (Stream<ProcessHandle> d = p.descendants()) {
      d.forEach(ProcessHandle::destroyForcibly);
    }
    p.destroyForcibly();
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> {
        if (Files.isDirectory(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          f.toFile().setWritable(true, true);
          f.toFile().setExecutable(true, true);
        }
        f.toFile().delete();
      });
    } catch (IOException | UncheckedIOException e) {
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

  /** Kills every run in progress and every warm launcher at once, then cleans up. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    refiller.shutdownNow();
    spawner.shutdownNow();
    drainPool();
    List<Process> running = List.copyOf(live);
    running.forEach(this::stop);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STOP_GRACE_MS);
    for (Process p : running) {
      try {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !p.waitFor(left, TimeUnit.NANOSECONDS)) {
          destroyTree(p);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        destroyTree(p);
      }
    }
    live.forEach(PythonSandbox::destroyTree);
    io.shutdown();
    try {
      // clean-ups of processes that are all dead by now: at most STOP_GRACE_MS + this in all
      io.awaitTermination(STOP_GRACE_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    io.shutdownNow();
    deleteTree(launcherDir);
  }
}
