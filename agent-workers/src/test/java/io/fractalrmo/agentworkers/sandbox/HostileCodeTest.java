package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Isolation;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Untrusted code is contained and reported; nothing escapes to the host. */
class HostileCodeTest {

  private static PythonSandbox sandbox;

  @BeforeAll
  static void start() {
    sandbox = PythonSandbox.create();
  }

  @AfterAll
  static void stop() {
    sandbox.close();
  }

  private static SandboxLimits limits(long timeoutMs) {
    return SandboxLimits.defaults().withTimeoutMs(timeoutMs);
  }

  @Test
  void shouldUseBubblewrapWhenInstalled() {
    if (Files.isExecutable(Path.of("/usr/bin/bwrap"))) {
      assertThat(sandbox.isolation()).isEqualTo(Isolation.BUBBLEWRAP);
    }
    SandboxResult r = sandbox.run("print('hello')", limits(5_000));
    assertThat(r.success()).isTrue();
    assertThat(r.stdout()).isEqualTo("hello\n");
    assertThat(r.isolation()).isEqualTo(sandbox.isolation());
    assertThat(r.peakMemoryKb()).isPositive();
  }

  @Test
  void shouldParseTheExceptionWithItsLine() {
    SandboxResult r = sandbox.run("x = 1\n\ndef f():\n    return undefined_name\nf()\n", limits(5_000));
    assertThat(r.success()).isFalse();
    assertThat(r.error().type()).isEqualTo("NameError");
    assertThat(r.error().message()).contains("undefined_name");
    assertThat(r.error().line()).isEqualTo(4);
    assertThat(r.error().traceback()).contains("main.py").doesNotContain("launcher");
  }

  @Test
  void shouldContainAForkBomb() {
    String bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n";
    SandboxResult r = sandbox.run(bomb, limits(2_000));
    assertThat(r.success()).isFalse();
    assertThat(r.timedOut()).isTrue();
    assertNoProcessLeftOf(r);
    assertThat(sandbox.run("print(1)", limits(5_000)).success()).isTrue();
  }

  @Test
  void shouldKillACpuSpinWithinTenPercentOfTheTimeout() {
    long limit = 1_000;
    long t0 = System.nanoTime();
    SandboxResult r = sandbox.run("while True:\n    pass\n", limits(limit));
    long wallMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.timedOut()).isTrue();
    assertThat(r.error().type()).isEqualTo("TimeoutError");
    assertThat(r.durationMs()).isBetween(limit, limit + Math.max(limit / 10, 100));
    assertThat(wallMs).isLessThan(limit + 2_000);
  }

  @Test
  void shouldKillASleeperAndItsDetachedChildrenAtTheTimeout() {
    String code = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n"
        + "time.sleep(60)\n";
    SandboxResult r = sandbox.run(code, limits(500));
    assertThat(r.timedOut()).isTrue();
    assertThat(r.durationMs()).isBetween(500L, 600L);
    assertNoProcessLeftOf(r);
  }

  @Test
  void shouldStopAMemoryHog() {
    SandboxResult r = sandbox.run("chunks = []\nwhile True:\n    chunks.append(bytearray(10 * 1024 * 1024))\n",
        new SandboxLimits(10_000, 128, 16, 65_536, SandboxLimits.DEFAULT_FILE_SIZE_BYTES));
    assertThat(r.success()).isFalse();
    assertThat(r.error().type()).isEqualTo("MemoryError");
    assertThat(r.peakMemoryKb()).isLessThan(200 * 1024L);
  }

  @Test
  void shouldGiveNoNetwork() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
      server.setSoTimeout(300);
      CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
        try {
          return server.accept();
        } catch (SocketTimeoutException e) {
          return null;
        } catch (IOException e) {
          return null;
        }
      });
      SandboxResult r = sandbox.run("import socket\ns = socket.create_connection(('127.0.0.1', "
          + server.getLocalPort() + "), timeout=2)\ns.sendall(b'leak')\n", limits(5_000));
      assertThat(r.success()).isFalse();
      assertThat(r.error().type()).isIn("PermissionError", "ConnectionRefusedError", "OSError", "TimeoutError");
      assertThat(accepted.get(5, TimeUnit.SECONDS)).isNull();
    }
  }

  @Test
  void shouldNotWriteOutsideTheWorkDir(@TempDir Path hostDir) throws IOException {
    hostDir.toFile().setWritable(true, false);
    Path target = hostDir.resolve("escaped.txt");
    String code = "for p in [" + py(target.toString()) + ", '/usr/escaped.txt', '/escaped.txt']:\n"
        + "    try:\n        open(p, 'w').write('x')\n        print('WROTE', p)\n"
        + "    except OSError as e:\n        print('denied', p, type(e).__name__)\n"
        + "open('inside.txt', 'w').write('fine')\nprint(open('inside.txt').read())\n";
    SandboxResult r = sandbox.run(code, limits(5_000));
    assertThat(r.stdout()).doesNotContain("WROTE").contains("fine");
    assertThat(target).doesNotExist();
    assertThat(Path.of("/usr/escaped.txt")).doesNotExist();
    assertThat(Path.of("/escaped.txt")).doesNotExist();
  }

  @Test
  void shouldNotReadAFileOutsideTheWorkDir(@TempDir Path hostDir) throws IOException {
    String secret = "TOPSECRET-" + UUID.randomUUID();
    Path file = Files.writeString(hostDir.resolve("secret.txt"), secret);
    file.toFile().setReadable(true, false);
    hostDir.toFile().setExecutable(true, false);
    String code = "import glob\nfor p in [" + py(file.toString()) + "] + glob.glob('/tmp/**/secret.txt', recursive=True):\n"
        + "    try:\n        print(open(p).read())\n    except OSError as e:\n        print('denied', type(e).__name__)\n";
    SandboxResult r = sandbox.run(code, limits(5_000));
    assertThat(r.stdout() + r.stderr()).doesNotContain(secret);
  }

  @Test
  void shouldNotSeeTheWorkersEnvironment() {
    String secret = System.getenv("FRACTAL_TEST_SECRET");
    org.junit.jupiter.api.Assumptions.assumeTrue(secret != null, "surefire sets FRACTAL_TEST_SECRET");
    String code = "import os\nprint(dict(os.environ))\n"
        + "for p in ['/proc/self/environ', '/proc/1/environ', '/proc/%d/environ' % os.getppid()]:\n"
        + "    try:\n        print(open(p, 'rb').read())\n    except OSError as e:\n        print('denied', p)\n";
    SandboxResult r = sandbox.run(code, limits(5_000));
    assertThat(r.stdout()).contains("PATH").doesNotContain(secret).doesNotContain("FRACTAL_TEST_SECRET");
  }

  @Test
  void shouldBoundAnOutputFloodAndRecordItsFullSize() {
    SandboxResult finite = sandbox.run("import sys\nfor _ in range(1000):\n    sys.stdout.write('x' * 10000)\n",
        new SandboxLimits(10_000, 512, 16, 1_000, SandboxLimits.DEFAULT_FILE_SIZE_BYTES));
    assertThat(finite.success()).isTrue();
    assertThat(finite.stdout()).hasSize(1_000);
    assertThat(finite.stdoutSize()).isEqualTo(10_000_000L);

    SandboxResult endless = sandbox.run("while True:\n    print('y' * 10000)\n",
        new SandboxLimits(1_000, 512, 16, 1_000, SandboxLimits.DEFAULT_FILE_SIZE_BYTES));
    assertThat(endless.timedOut()).isTrue();
    assertThat(endless.stdout()).hasSize(1_000);
    assertThat(endless.stdoutSize()).isGreaterThan(1_000);
  }

  @Test
  void shouldLimitFileSize() {
    SandboxResult r = sandbox.run("open('big', 'wb').write(b'0' * (64 * 1024 * 1024))\n",
        new SandboxLimits(10_000, 512, 16, 1_000, 1024 * 1024));
    assertThat(r.success()).isFalse();
    assertThat(r.error().type()).isIn("OSError", "MemoryError");
  }

  private static String py(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  /** As root, each run has its own unprivileged uid: no process of that uid may survive the run. */
  private static void assertNoProcessLeftOf(SandboxResult r) {
    if (r.uid() == null) {
      return; // not root: the run's processes die with its pid namespace (bubblewrap)
    }
    String uid = Integer.toString(r.uid());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    long left;
    do {
      left = ProcessHandle.allProcesses()
          .filter(p -> p.info().user().map(uid::equals).orElse(false))
          .count();
      if (left == 0) {
        return;
      }
      Thread.onSpinWait();
    } while (System.nanoTime() < deadline);
    assertThat(left).as("sandbox processes left running").isZero();
  }
}
