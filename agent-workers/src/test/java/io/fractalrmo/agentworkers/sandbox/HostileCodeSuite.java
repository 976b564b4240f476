package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.registry.testing.TestStack;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.common.IsolationLevel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Untrusted code is contained and reported, whatever the machine offers: each concrete class runs
 * this suite against one sandbox mode — with bubblewrap ({@link HostileCodeTest}), without it
 * through Landlock, seccomp and the other layers ({@link HostileCodeWithoutBubblewrapTest}), and
 * with every layer gone, where every run must be refused with the missing-sandbox reason and
 * nothing may happen ({@link HostileCodeUnconfinedTest}). Every test also checks from outside that
 * nothing escaped (no file, no connection, no process left), in all three modes. Nothing here goes
 * through the static analyzers.
 */
abstract class HostileCodeSuite {

  /** The sandbox of this mode, shared by the class's tests. */
  protected abstract PythonSandbox sandbox();

  /** A fresh sandbox of this mode (for the tests that close one). */
  protected abstract PythonSandbox newSandbox();

  /** True for the mode in which every run must be refused. */
  protected abstract boolean refuses();

  protected static SandboxLimits limits(long timeoutMs) {
    return SandboxLimits.defaults().withTimeoutMs(timeoutMs);
  }

  /**
   * Runs {@code code}: in the refusing mode asserts the refusal (nothing ran) and returns null, so
   * that only the outside checks follow; otherwise the result.
   */
  protected SandboxResult contained(String code, SandboxLimits limits) {
    SandboxResult r = sandbox().run(code, limits);
    if (refuses()) {
      assertRefused(r);
      return null;
    }
    assertThat(r.refused()).as("refused: %s", r.error()).isFalse();
    assertThat(r.layers()).as("layers of the run").isEqualTo(sandbox().confinement().layers());
    return r;
  }

  static void assertRefused(SandboxResult r) {
    assertThat(r.refused()).isTrue();
    assertThat(r.success()).isFalse();
    assertThat(r.exitCode()).isNull();
    assertThat(r.stdout()).isEmpty();
    assertThat(r.layers()).isEmpty();
    assertThat(r.error().message()).contains("bubblewrap").contains("Landlock")
        .contains("5.13").contains("apt-get install bubblewrap")
        .contains(PythonSandbox.UNSAFE_SETTING);
  }

  @Test
  void shouldRunOrdinaryCodeAndNameTheLayersInForce() {
    SandboxResult r = contained("print('hello')", limits(5_000));
    if (r == null) {
      assertThat(sandbox().confinement().runsCode()).isFalse();
      return;
    }
    assertThat(r.success()).isTrue();
    assertThat(r.stdout()).isEqualTo("hello\n");
    assertThat(r.evidence().complete()).isTrue();
    assertThat(r.isolation()).isEqualTo(sandbox().isolation());
    assertThat(r.peakMemoryKb()).isPositive();
    Confinement c = sandbox().confinement();
    assertThat(c.blocksNetwork()).isTrue();
    assertThat(c.blocksHostFiles()).isTrue();
    assertThat(c.unsafe()).isFalse();
    assertThat(r.layers()).contains(Confinement.RLIMITS).doesNotContain(Confinement.UNSAFE);
  }

  @Test
  void shouldParseTheExceptionWithItsLine() {
    SandboxResult r = contained("x = 1\n\ndef f():\n    return undefined_name\nf()\n", limits(5_000));
    if (r == null) {
      return;
    }
    assertThat(r.success()).isFalse();
    assertThat(r.error().type()).isEqualTo("NameError");
    assertThat(r.error().message()).contains("undefined_name");
    assertThat(r.error().line()).isEqualTo(4);
    assertThat(r.error().traceback()).contains("main.py").doesNotContain("launcher");
  }

  @Test
  void shouldContainAForkBomb() {
    String marker = marker();
    String bomb = "import os\n" + marker + " = 1\nwhile True:\n    try:\n        os.fork()\n"
        + "    except OSError:\n        pass\n";
    SandboxResult r = contained(bomb, limits(2_000));
    if (r != null) {
      assertThat(r.success()).isFalse();
      assertThat(r.timedOut()).isTrue();
      assertThat(sandbox().run("print(1)", limits(5_000)).success()).isTrue();
    }
    assertNoProcessLeft(r, null);
  }

  @Test
  void shouldKillACpuSpinWithinTenPercentOfTheTimeout() {
    long limit = 1_000;
    long t0 = System.nanoTime();
    SandboxResult r = contained("while True:\n    pass\n", limits(limit));
    if (r == null) {
      return;
    }
    long wallMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.timedOut()).isTrue();
    assertThat(r.error().type()).isEqualTo("TimeoutError");
    assertThat(r.durationMs()).isBetween(limit, limit + Math.max(limit / 10, 100));
    assertThat(wallMs).isLessThan(limit + 2_000);
  }

  @Test
  void shouldStopAMemoryHog() {
    SandboxResult r = contained("chunks = []\nwhile True:\n    chunks.append(bytearray(10 * 1024 * 1024))\n",
        new SandboxLimits(10_000, 128, 16, 65_536, SandboxLimits.DEFAULT_FILE_SIZE_BYTES));
    if (r == null) {
      return;
    }
    assertThat(r.success()).isFalse();
    assertThat(r.error().type()).isEqualTo("MemoryError");
    assertThat(r.peakMemoryKb()).isLessThan(200 * 1024L);
  }

  @Test
  void shouldGiveNoNetworkToALoopbackListenerWhateverTheNamesAreBuiltFrom() throws Exception {
    for (String importer : List.of("import socket as s\n",
        "s = getattr(__builtins__, '__imp' + 'ort__')('so' + 'cket')\n",
        "import importlib\ns = importlib.import_module(''.join(['s', 'o', 'c', 'k', 'e', 't']))\n")) {
      try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
        CompletableFuture<Boolean> accepted = acceptOnce(server);
        String code = importer + "try:\n"
            + "    c = s.create_connection(('127.0.0.1', " + server.getLocalPort() + "), timeout=2)\n"
            + "    c.sendall(b'leak')\n    print('CONNECTED')\n"
            + "except OSError as e:\n    print('denied', type(e).__name__)\n    raise\n";
        SandboxResult r = contained(code, limits(5_000));
        if (r != null) {
          assertThat(r.success()).isFalse();
          assertThat(r.stdout()).doesNotContain("CONNECTED");
          assertThat(r.error().type()).isIn("PermissionError", "ConnectionRefusedError", "OSError");
        }
        assertThat(accepted.get(10, TimeUnit.SECONDS)).as("the listener accepted a connection").isFalse();
      }
    }
  }

  @Test
  void shouldNotReachTheKafkaBroker() throws Exception {
    TestStack stack = TestStack.shared();
    String[] hostPort = stack.bootstrapServers().split(",")[0].split(":");
    String host = hostPort[0];
    int port = Integer.parseInt(hostPort[1]);
    try (Socket control = new Socket()) {
      control.connect(new InetSocketAddress(host, port), 5_000); // the broker is there to reach
    }
    String topic = "t-hostile." + UUID.randomUUID();
    try (KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers())) {
      kafka.createTopic(topic, 1);
      String code = "s = getattr(__builtins__, '__imp' + 'ort__')('so' + 'cket')\n"
          + "c = s.create_connection((" + py(host) + ", " + port + "), timeout=3)\n"
          // an ApiVersions request: the start of any Kafka client's conversation
          + "c.sendall(bytes.fromhex('0000001a0012000300000001000c68616e646d6164652d636c69656e74000000'))\n"
          + "print('BROKER SAID', c.recv(64))\n";
      SandboxResult r = contained(code, limits(10_000));
      if (r != null) {
        assertThat(r.success()).isFalse();
        assertThat(r.stdout()).doesNotContain("BROKER SAID");
        assertThat(r.error().type()).isIn("PermissionError", "ConnectionRefusedError", "OSError");
      }
      assertThat(kafka.endOffsets(topic, IsolationLevel.READ_UNCOMMITTED).values()).containsOnly(0L);
    }
  }

  @Test
  void shouldNotWriteOutsideTheWorkDir(@TempDir Path hostDir) throws IOException {
    hostDir.toFile().setWritable(true, false);
    hostDir.toFile().setExecutable(true, false);
    Path target = hostDir.resolve("escaped.txt");
    String tmpName = "/tmp/escaped-" + UUID.randomUUID();
    String code = "for p in [" + py(target.toString()) + ", '/usr/escaped.txt', '/escaped.txt', "
        + py(tmpName) + "]:\n"
        + "    try:\n        open(p, 'w').write('x')\n        print('WROTE', p)\n"
        + "    except OSError as e:\n        print('denied', p, type(e).__name__)\n"
        + "open('inside.txt', 'w').write('fine')\nprint(open('inside.txt').read())\n";
    SandboxResult r = contained(code, limits(5_000));
    if (r != null) {
      assertThat(r.stdout()).contains("fine");
      assertThat(r.stdout()).doesNotContain("WROTE " + target).doesNotContain("WROTE /usr")
          .doesNotContain("WROTE /escaped");
      if (!r.layers().contains(Confinement.BUBBLEWRAP)) {
        assertThat(r.stdout()).doesNotContain("WROTE"); // the host's /tmp itself
      }
    }
    assertThat(target).doesNotExist();
    assertThat(Path.of("/usr/escaped.txt")).doesNotExist();
    assertThat(Path.of("/escaped.txt")).doesNotExist();
    assertThat(Path.of(tmpName)).doesNotExist();
  }

  @Test
  void shouldNotReadAFileOutsideTheWorkDir(@TempDir Path hostDir) throws IOException {
    String secret = "TOPSECRET-" + UUID.randomUUID();
    Path file = Files.writeString(hostDir.resolve("secret.txt"), secret);
    file.toFile().setReadable(true, false);
    hostDir.toFile().setExecutable(true, false);
    String code = "import glob\nfor p in [" + py(file.toString()) + ", '/etc/passwd', '/etc/hostname']"
        + " + glob.glob('/tmp/**/secret.txt', recursive=True):\n"
        + "    try:\n        print(p, open(p).read())\n    except OSError as e:\n"
        + "        print('denied', p, type(e).__name__)\n";
    SandboxResult r = contained(code, limits(5_000));
    if (r != null) {
      assertThat(r.stdout() + r.stderr()).doesNotContain(secret).doesNotContain("root:x:0:0");
    }
  }

  @Test
  void shouldNotSeeTheWorkersEnvironmentNorTouchTheWorker() {
    String secret = System.getenv("FRACTAL_TEST_SECRET");
    Assumptions.assumeTrue(secret != null, "surefire sets FRACTAL_TEST_SECRET");
    long worker = ProcessHandle.current().pid();
    String code = "import os\nprint(dict(os.environ))\n"
        + "for p in ['/proc/self/environ', '/proc/1/environ', '/proc/%d/environ' % os.getppid(), "
        + "'/proc/" + worker + "/environ', '/proc/" + worker + "/cmdline', '/proc/" + worker + "/mem']:\n"
        + "    try:\n        print(open(p, 'rb').read(4096))\n    except OSError as e:\n"
        + "        print('denied', p, type(e).__name__)\n"
        + "try:\n    os.kill(" + worker + ", 0)\n    print('SIGNALLED THE WORKER')\n"
        + "except OSError as e:\n    print('no signal', type(e).__name__)\n";
    SandboxResult r = contained(code, limits(5_000));
    if (r == null) {
      return;
    }
    assertThat(r.stdout()).contains("PATH").doesNotContain(secret).doesNotContain("FRACTAL_TEST_SECRET")
        .doesNotContain("SIGNALLED THE WORKER").contains("no signal")
        .doesNotContain("surefire").doesNotContain("java");
  }

  @Test
  void shouldBoundAnOutputFloodAndRecordItsFullSize() {
    SandboxResult finite = contained("import sys\nfor _ in range(1000):\n    sys.stdout.write('x' * 10000)\n",
        new SandboxLimits(10_000, 512, 16, 1_000, SandboxLimits.DEFAULT_FILE_SIZE_BYTES));
    if (finite == null) {
      return;
    }
    assertThat(finite.success()).isTrue();
    assertThat(finite.stdout()).hasSize(1_000);
    assertThat(finite.stdoutSize()).isEqualTo(10_000_000L);

    SandboxResult endless = sandbox().run("while True:\n    print('y' * 10000)\n",
        new SandboxLimits(1_000, 512, 16, 1_000, SandboxLimits.DEFAULT_FILE_SIZE_BYTES));
    assertThat(endless.timedOut()).isTrue();
    assertThat(endless.stdout()).hasSize(1_000);
    assertThat(endless.stdoutSize()).isGreaterThan(1_000);
  }

  @Test
  void shouldKillASleeperAndItsDetachedChildrenAtTheTimeout() {
    String marker = marker();
    String code = "import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n"
        + "    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', "
        + py(marker) + "])\ntime.sleep(60)\n";
    SandboxResult r = contained(code, limits(500));
    if (r != null) {
      assertThat(r.timedOut()).isTrue();
      assertThat(r.durationMs()).isBetween(500L, 600L);
    }
    assertNoProcessLeft(r, marker);
  }

  @Test
  void shouldKillASetsidChildThatOutlivesItsParent(@TempDir Path hostDir) {
    // the parent finishes at once; its detached grandchild would act later, after the run
    String marker = marker();
    hostDir.toFile().setWritable(true, false);
    Path late = hostDir.resolve("late.txt");
    String code = "import os, sys\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        + "        os.execv(sys.executable, [sys.executable, '-c', "
        + py("import time, sys; time.sleep(1.5); open(sys.argv[1], 'w').write('late')") + ", "
        + py(late.toString()) + ", " + py(marker) + "])\n    os._exit(0)\nos.wait()\nprint('parent done')\n";
    SandboxResult r = contained(code, limits(5_000));
    if (r != null) {
      assertThat(r.success()).as("%s", r.error()).isTrue();
      assertThat(r.stdout()).contains("parent done");
    }
    assertNoProcessLeft(r, marker);
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    while (System.nanoTime() < until) {
      assertThat(late).as("a process of the run acted after the run").doesNotExist();
      Thread.onSpinWait();
    }
  }

  @Test
  void shouldNotFillDevShm() {
    String name = "fractal-fill-" + UUID.randomUUID();
    String code = "import os\ntotal = 0\ntry:\n    with open('/dev/shm/" + name + "', 'wb') as f:\n"
        + "        for _ in range(64):\n            f.write(b'x' * (4 << 20))\n"
        + "            total += 4 << 20\n    print('WROTE', total)\n"
        + "except OSError as e:\n    print('stopped at', total, type(e).__name__)\n"
        + "try:\n    from multiprocessing import shared_memory\n"
        + "    m = shared_memory.SharedMemory(create=True, size=256 << 20)\n"
        + "    m.buf[:] = b'y' * (256 << 20)\n    print('SHARED', m.name)\n"
        + "except OSError as e:\n    print('no shared memory', type(e).__name__)\n";
    SandboxResult r = contained(code, limits(10_000));
    if (r != null) {
      assertThat(r.stdout()).doesNotContain("WROTE").doesNotContain("SHARED");
    }
    assertThat(Path.of("/dev/shm", name)).doesNotExist();
  }

  @Test
  void shouldBoundTheWorkDirAsAWhole() {
    long bound = 16L * 1024 * 1024;
    long perFile = 4L * 1024 * 1024;
    String code = "import os\ntotal = 0\ni = 0\nbuf = b'x' * " + perFile + "\nwhile True:\n"
        + "    with open('f%d' % i, 'wb') as f:\n        f.write(buf)\n"
        + "    total += len(buf)\n    i += 1\n    os.write(1, b'%d\\n' % total)\n";
    SandboxResult r = contained(code, new SandboxLimits(20_000, 512, 16, 65_536, perFile, bound));
    if (r == null) {
      return;
    }
    assertThat(r.success()).isFalse();
    assertThat(r.timedOut()).isFalse();
    assertThat(r.error().type()).isEqualTo("OSError");
    String[] lines = r.stdout().strip().split("\n");
    long written = lines[0].isEmpty() ? 0 : Long.parseLong(lines[lines.length - 1]);
    if (r.layers().contains(Confinement.WORKDIR_TMPFS)) {
      // a tmpfs of the bound: the kernel refuses the write that would pass it
      assertThat(written).isLessThanOrEqualTo(bound);
      assertThat(r.error().message()).contains("No space left on device");
    } else {
      // the launcher kills the run within a check of the bound being passed: a few files more
      assertThat(written).isLessThanOrEqualTo(bound + 4 * perFile);
    }
  }

  @Test
  void shouldLimitFileSize() {
    SandboxResult r = contained("open('big', 'wb').write(b'0' * (64 * 1024 * 1024))\n",
        new SandboxLimits(10_000, 512, 16, 1_000, 1024 * 1024));
    if (r == null) {
      return;
    }
    assertThat(r.success()).isFalse();
    assertThat(r.error().type()).isIn("OSError", "MemoryError");
  }

  @Test
  void shouldKeepConcurrentRunsApart() throws Exception {
    Assumptions.assumeFalse(refuses(), "nothing runs");
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<SandboxResult>> runs = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String mine = "run-" + i + "-" + UUID.randomUUID();
        String code = "import os, glob\nopen(" + py(mine) + ", 'w').write('x')\n"
            + "print(sorted(glob.glob('*')), sorted(glob.glob('/tmp/*')), os.getuid())\n";
        runs.add(threads.submit(() -> sandbox().run(code, limits(20_000))));
      }
      Map<String, Boolean> uids = new ConcurrentHashMap<>();
      for (int i = 0; i < runs.size(); i++) {
        SandboxResult r = runs.get(i).get(60, TimeUnit.SECONDS);
        assertThat(r.success()).as("%s", r.error()).isTrue();
        assertThat(r.stdout()).contains("run-" + i + "-").doesNotContainPattern("run-(?!" + i + "-)\\d+-");
        if (r.uid() != null) {
          uids.put(String.valueOf(r.uid()), true);
        }
      }
      if (!uids.isEmpty()) {
        assertThat(uids).as("a uid per run").hasSize(runs.size());
      }
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void shouldServeRunAfterRunFromTheSameWarmLaunchersWhereLandlockAndSeccompHold() {
    Assumptions.assumeFalse(refuses(), "nothing runs");
    Assumptions.assumeTrue(sandbox().confinement().layers().containsAll(
        List.of(Confinement.LANDLOCK, Confinement.SECCOMP)), "Landlock and seccomp in force");
    assertThat(sandbox().reusesLaunchers()).isTrue();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (sandbox().warmCount() < 1) {
      assertThat(System.nanoTime()).as("a warm launcher").isLessThan(deadline);
      Thread.onSpinWait();
    }
    assertThat(sandbox().run("print(0)", limits(5_000)).success()).isTrue();
    List<Long> before = launcherProcesses();
    for (int i = 1; i <= 5; i++) {
      SandboxResult r = sandbox().run("print(" + i + ")", limits(5_000));
      assertThat(r.success()).as("%s", r.error()).isTrue();
      assertThat(r.stdout()).isEqualTo(i + "\n");
      assertThat(r.warm()).isTrue();
    }
    assertThat(launcherProcesses()).as("no launcher started for the runs: the same ones served them")
        .isEqualTo(before);
  }

  /** This JVM's launcher processes (zygotes, or bubblewrap around them), not their runners. */
  private static List<Long> launcherProcesses() {
    return ProcessHandle.current().children()
        .filter(p -> p.info().commandLine().map(c -> c.contains("launcher.py")).orElse(false))
        .map(ProcessHandle::pid).sorted().toList();
  }

  @Test
  void shouldKeepSuccessiveRunsOfOneLauncherApartAndAwayFromIt() {
    Assumptions.assumeFalse(refuses(), "nothing runs");
    // run after run, one launcher (zygote) serves this sandbox's runs where Landlock and seccomp
    // hold: a run must find nothing of the one before it and cannot touch the launcher
    String secret = "secret-" + UUID.randomUUID();
    String marker = marker();
    SandboxResult first = contained("import os, sys\nopen('mine.txt', 'w').write(" + py(secret) + ")\n"
        + "if os.fork() == 0:\n    os.setsid()\n    os.execv(sys.executable, [sys.executable, '-c', "
        + "'import time; time.sleep(60)', " + py(marker) + "])\nprint(os.getcwd())\n", limits(5_000));
    assertThat(first.success()).as("%s", first.error()).isTrue();
    assertNoProcessLeft(first, marker);
    String firstDir = first.stdout().strip();
    List<Long> launchers = ProcessHandle.current().descendants()
        .filter(p -> p.info().commandLine().map(c -> c.contains("launcher.py")).orElse(false))
        .map(ProcessHandle::pid).toList();
    assertThat(launchers).as("the sandbox's launchers").isNotEmpty();
    StringBuilder targets = new StringBuilder("[1, 2, os.getppid()");
    launchers.forEach(pid -> targets.append(", ").append(pid));
    targets.append("]");
    String code = "import os\nfor p in [" + py(firstDir + "/mine.txt") + ", " + py(firstDir)
        + ", os.path.dirname(os.getcwd()), '/work', '/tmp']:\n    try:\n"
        + "        print('SAW', p, open(p).read() if os.path.isfile(p) else os.listdir(p))\n"
        + "    except OSError as e:\n        print('denied', p, type(e).__name__)\n"
        + "for pid in " + targets + ":\n    try:\n        os.kill(pid, 9)\n        print('KILLED', pid)\n"
        + "    except OSError as e:\n        print('no signal', pid, type(e).__name__)\n";
    SandboxResult second = contained(code, limits(5_000));
    assertThat(second.success()).as("%s", second.error()).isTrue();
    assertThat(second.stdout()).doesNotContain(secret).doesNotContain("KILLED").doesNotContain("SAW")
        .contains("no signal");
    // the zygotes (a runner, forked by one, ends with its run)
    List<Long> zygotes = launchers.stream().filter(pid -> ProcessHandle.of(pid).flatMap(ProcessHandle::parent)
        .flatMap(p -> p.info().commandLine()).map(c -> !c.contains("launcher.py")).orElse(false)).toList();
    assertThat(zygotes).as("the launchers outlive a run that tried to kill them").isNotEmpty()
        .allMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    SandboxResult third = contained("print('still here')", limits(5_000));
    assertThat(third.success()).as("%s", third.error()).isTrue();
  }

  @Test
  void shouldKillTheRunAtOnceWhenItsThreadIsInterrupted() throws Exception {
    Assumptions.assumeFalse(refuses(), "nothing runs");
    String marker = marker();
    String code = "import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n"
        + "    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', "
        + py(marker) + "])\ntime.sleep(60)\n";
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        sandbox().run(code, limits(60_000));
      } catch (Throwable e) {
        thrown.set(e);
      }
    });
    t.start();
    awaitProcess(marker);
    long t0 = System.nanoTime();
    t.interrupt();
    t.join(TimeUnit.SECONDS.toMillis(10));
    assertThat(t.isAlive()).isFalse();
    assertThat(thrown.get()).isInstanceOf(SandboxInterruptedException.class);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
    assertNoProcessLeft(null, marker);
  }

  @Test
  void shouldKillEveryRunAtOnceOnClose() throws Exception {
    Assumptions.assumeFalse(refuses(), "nothing runs");
    String marker = marker();
    String code = "import time\n" + marker + " = 1\ntime.sleep(60)\n";
    PythonSandbox own = newSandbox();
    ExecutorService threads = Executors.newFixedThreadPool(3);
    AtomicInteger interrupted = new AtomicInteger();
    try {
      List<Future<?>> runs = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        String each = "import os, sys\nos.execv(sys.executable, [sys.executable, '-c', "
            + "'import time; time.sleep(60)', " + py(marker + "-" + i) + "])\n";
        runs.add(threads.submit(() -> {
          try {
            own.run(each, limits(60_000));
          } catch (SandboxInterruptedException e) {
            interrupted.incrementAndGet();
          }
        }));
      }
      for (int i = 0; i < 3; i++) {
        awaitProcess(marker + "-" + i);
      }
      long t0 = System.nanoTime();
      own.close();
      for (Future<?> f : runs) {
        f.get(10, TimeUnit.SECONDS);
      }
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
      assertThat(interrupted.get()).isEqualTo(3);
      assertNoProcessLeft(null, marker);
      assertThatThrownBy(() -> own.run(code, limits(1_000))).isInstanceOf(IllegalStateException.class);
    } finally {
      threads.shutdownNow();
      own.close();
    }
  }

  // ---------------------------------------------------------------------------------------------

  protected static String py(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  protected static String marker() {
    return "fractal_marker_" + UUID.randomUUID().toString().replace("-", "");
  }

  private static CompletableFuture<Boolean> acceptOnce(ServerSocket server) throws IOException {
    server.setSoTimeout(100);
    return CompletableFuture.supplyAsync(() -> {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
      while (System.nanoTime() < until) {
        try (Socket s = server.accept()) {
          return true;
        } catch (SocketTimeoutException e) {
          // keep waiting until the run is surely over
        } catch (IOException e) {
          return false;
        }
      }
      return false;
    });
  }

  private static boolean running(String marker) {
    return ProcessHandle.allProcesses().anyMatch(p -> p.info().arguments()
        .map(args -> String.join(" ", args).contains(marker)).orElse(false)
        || p.info().commandLine().map(c -> c.contains(marker)).orElse(false));
  }

  private static void awaitProcess(String marker) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!running(marker)) {
      assertThat(System.nanoTime()).as("process %s started", marker).isLessThan(deadline);
      Thread.onSpinWait();
    }
  }

  /**
   * No process of the run is left: none whose arguments carry the marker, and as root none of the
   * run's own uid.
   */
  static void assertNoProcessLeft(SandboxResult r, String marker) {
    String uid = r == null || r.uid() == null ? null : Integer.toString(r.uid());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    long left;
    do {
      left = ProcessHandle.allProcesses()
          .filter(p -> (uid != null && p.info().user().map(uid::equals).orElse(false))
              || (marker != null && p.info().arguments()
                  .map(a -> String.join(" ", a).contains(marker)).orElse(false)))
          .count();
      if (left == 0) {
        return;
      }
      Thread.onSpinWait();
    } while (System.nanoTime() < deadline);
    assertThat(left).as("sandbox processes left running").isZero();
  }
}
