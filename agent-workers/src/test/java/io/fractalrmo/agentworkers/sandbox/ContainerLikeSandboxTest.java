package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the shipped container deployments get, reproduced on this machine: the launcher as a
 * non-root user next to a "worker" process of the same uid (a container's user runs both), and a
 * worker JVM that is root without CAP_SYS_ADMIN (a container's root, which cannot create
 * bubblewrap's namespaces). Both must be confined by Landlock and seccomp alone. Needs root (to
 * drop to those identities with {@code setpriv}); skipped otherwise.
 */
class ContainerLikeSandboxTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String NOBODY = "65534";

  @BeforeAll
  static void needsRootAndSetpriv() {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv installed");
    Assumptions.assumeTrue("0".equals(uidOfThisProcess()), "running as root");
    Assumptions.assumeTrue(HostileCodeWithoutBubblewrapTest.kernelLandlockAbi() > 0,
        "the kernel offers Landlock");
  }

  @Test
  void shouldConfineANonRootLauncherAgainstAWorkerOfTheSameUid(@TempDir Path dir) throws Exception {
    Path launcher = shareable(dir);
    Path work = worldWritable(dir.resolve("work"));
    Path hostDir = worldWritable(dir.resolve("writable"));
    String secret = "secret-" + UUID.randomUUID();
    Path hostFile = Files.writeString(dir.resolve("secret.txt"), secret);
    hostFile.toFile().setReadable(true, false);

    // the "worker": a process of the same uid, with a secret in its environment
    ProcessBuilder fake = new ProcessBuilder(List.of("/usr/bin/setpriv", "--reuid=" + NOBODY,
        "--regid=" + NOBODY, "--clear-groups", "--", PythonLocator.locate().toString(), "-I", "-c",
        "import os, time; print(os.getpid(), flush=True); time.sleep(120)"));
    fake.environment().put("FRACTAL_FAKE_WORKER_SECRET", secret);
    Process worker = fake.start();
    try (ServerSocket listener = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
      long workerPid = Long.parseLong(new BufferedReader(new InputStreamReader(worker.getInputStream(),
          StandardCharsets.UTF_8)).readLine().strip());
      String limitsBefore = Files.readString(Path.of("/proc/" + workerPid + "/limits"));
      String niceBefore = statField(workerPid, 19);
      AtomicInteger accepted = new AtomicInteger();
      CompletableFuture<Void> acceptor = accept(listener, accepted);

      ObjectNode selftest = header(work, List.of("rlimits", "no-new-privs", "landlock", "seccomp"));
      ObjectNode params = selftest.putObject("selftest");
      params.put("port", listener.getLocalPort());
      params.put("host_file", hostFile.toString());
      params.put("host_dir", hostDir.toString());
      params.put("worker_pid", workerPid);
      JsonNode probed = runAsNobody(launcher, selftest, workerPid);
      assertThat(probed.path("layers").toString()).contains("landlock").contains("seccomp")
          .contains("no-new-privs");
      JsonNode checks = probed.path("selftest");
      assertThat(checks.path("uid").asText()).isEqualTo(NOBODY);
      for (String mustFail : List.of("socket_inet", "socket_unix", "connect_loopback",
          "connect_loopback_preopened", "read_host_file", "write_host_dir", "write_tmp",
          "write_dev_shm", "read_worker_environ", "signal_worker", "signal_launcher", "unshare",
          "io_uring_setup", "memfd_create", "ptrace")) {
        assertThat(checks.path(mustFail).asText()).as(mustFail).startsWith("denied");
      }
      for (String mustWork : List.of("write_workdir", "socketpair", "fork", "spawn")) {
        assertThat(checks.path(mustWork).asText()).as(mustWork).startsWith("allowed");
      }

      // what a program of the worker's own uid could do to the worker, were it not filtered
      String attack = "import os, resource, signal\nW = " + workerPid + "\n"
          + "def t(name, f):\n    try:\n        f()\n        print('DID', name)\n"
          + "    except OSError as e:\n        print('denied', name, e.errno)\n"
          + "t('prlimit', lambda: resource.prlimit(W, resource.RLIMIT_NOFILE, (3, 3)))\n"
          + "t('setpriority', lambda: os.setpriority(os.PRIO_PROCESS, W, 19))\n"
          + "t('setpriority-user', lambda: os.setpriority(os.PRIO_USER, os.getuid(), 19))\n"
          + "t('setpriority-pgrp', lambda: os.setpriority(os.PRIO_PGRP, os.getpgid(W), 19))\n"
          + "t('affinity', lambda: os.sched_setaffinity(W, {0}))\n"
          + "t('kill', lambda: os.kill(W, signal.SIGKILL))\n"
          + "t('killpg', lambda: os.killpg(os.getpgid(W), signal.SIGKILL))\n"
          + "t('kill-all', lambda: os.kill(-1, signal.SIGKILL))\n"
          + "t('environ', lambda: open('/proc/%d/environ' % W, 'rb').read())\n"
          + "t('mem', lambda: open('/proc/%d/mem' % W, 'rb'))\n"
          + "t('own-nice', lambda: os.nice(1))\n";
      ObjectNode run = header(work, List.of("rlimits", "no-new-privs", "landlock", "seccomp"));
      ObjectNode program = run.putObject("program");
      program.put("solution", attack);
      JsonNode attacked = runAsNobody(launcher, run, workerPid);
      String out = attacked.path("stdout").asText();
      assertThat(attacked.path("evidence").path("solution_completed").asBoolean()).as("%s", attacked).isTrue();
      assertThat(out).contains("DID own-nice").doesNotContain("DID prlimit").doesNotContain("DID setpriority")
          .doesNotContain("DID affinity").doesNotContain("DID kill").doesNotContain("DID environ")
          .doesNotContain("DID mem").doesNotContain(secret);
      assertThat(worker.isAlive()).as("the worker survived").isTrue();
      assertThat(Files.readString(Path.of("/proc/" + workerPid + "/limits"))).isEqualTo(limitsBefore);
      assertThat(statField(workerPid, 19)).as("the worker's nice value").isEqualTo(niceBefore);
      acceptor.cancel(true);
      assertThat(accepted.get()).isZero();
      assertThat(hostDir.resolve("escaped")).doesNotExist();
    } finally {
      worker.destroyForcibly();
      worker.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void shouldBoundANonRootRunsWorkDirInAUserNamespaceOfItsOwn(@TempDir Path dir) throws Exception {
    Path launcher = shareable(dir);
    Path work = worldWritable(dir.resolve("work"));
    Path hostDir = worldWritable(dir.resolve("writable"));
    Path hostFile = Files.writeString(dir.resolve("secret.txt"), "secret");
    List<String> layers = List.of(Confinement.WORKDIR_TMPFS, "rlimits", "no-new-privs", "landlock",
        "seccomp");
    ObjectNode selftest = header(work, layers);
    ObjectNode params = selftest.putObject("selftest");
    params.put("host_file", hostFile.toString());
    params.put("host_dir", hostDir.toString());
    params.put("worker_pid", ProcessHandle.current().pid());
    JsonNode probed = runAsNobody(launcher, selftest, ProcessHandle.current().pid());
    if (!probed.path("selftest").isObject()) {
      // no user namespace for this uid here: the run fails closed, naming the layer
      assertThat(probed.path("error").path("type").asText()).isEqualTo("SandboxError");
      assertThat(probed.path("error").path("message").asText()).contains(Confinement.WORKDIR_TMPFS);
      assertThat(probed.path("evidence").path("solution_completed").asBoolean()).isFalse();
      return;
    }
    JsonNode checks = probed.path("selftest");
    long bound = SandboxLimits.DEFAULT_WORK_DIR_BYTES;
    assertThat(probed.path("layers").toString()).contains(Confinement.WORKDIR_TMPFS);
    assertThat(checks.path("workdir_fs").asText()).isEqualTo("own " + (bound + 4095) / 4096 * 4096);
    assertThat(checks.path("uid").asText()).isEqualTo(NOBODY);
    assertThat(checks.path("cap_eff").asText()).as("no capability kept from the user namespace")
        .isEqualTo("0000000000000000");
    for (String mustFail : List.of("socket_inet", "read_host_file", "write_host_dir", "write_tmp",
        "signal_launcher", "unshare", "ptrace")) {
      assertThat(checks.path(mustFail).asText()).as(mustFail).startsWith("denied");
    }
    for (String mustWork : List.of("write_workdir", "fork", "spawn")) {
      assertThat(checks.path(mustWork).asText()).as(mustWork).startsWith("allowed");
    }

    ObjectNode run = header(work, layers);
    run.put("file_size_bytes", 4L << 20);
    run.putObject("program").put("solution", "import os\ntotal = 0\ni = 0\nbuf = b'x' * (4 << 20)\n"
        + "while True:\n    with open('f%d' % i, 'wb') as f:\n        f.write(buf)\n"
        + "    total += len(buf)\n    i += 1\n    os.write(1, b'%d\\n' % total)\n");
    JsonNode wrote = runAsNobody(launcher, run, ProcessHandle.current().pid());
    String[] lines = wrote.path("stdout").asText().strip().split("\n");
    long written = lines[0].isEmpty() ? 0 : Long.parseLong(lines[lines.length - 1]);
    assertThat(written).as("%s", wrote).isLessThanOrEqualTo(bound);
    assertThat(wrote.path("error").path("message").asText()).contains("No space left on device");
    try (var left = Files.list(work)) {
      assertThat(left).as("the run's files lived in its own tmpfs").isEmpty();
    }

    // a user namespace counts its processes afresh: the uid's limit must still hold
    ObjectNode forks = header(work, layers);
    forks.put("max_processes", 8);
    forks.putObject("program").put("solution", "import os, time\nn = 0\nfor _ in range(64):\n"
        + "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
        + "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n    n += 1\n"
        + "print('FORKED', n)\n");
    JsonNode forked = runAsNobody(launcher, forks, ProcessHandle.current().pid());
    String out = forked.path("stdout").asText();
    assertThat(out).as("%s", forked).startsWith("FORKED ");
    assertThat(Integer.parseInt(out.strip().substring("FORKED ".length()))).isBetween(1, 8);
  }

  @Test
  void shouldConfineAWorkerThatIsRootWithoutCapSysAdmin(@TempDir Path dir) throws Exception {
    String secret = "secret-" + UUID.randomUUID();
    Path hostFile = Files.writeString(dir.resolve("secret.txt"), secret);
    hostFile.toFile().setReadable(true, false);
    dir.toFile().setExecutable(true, false);
    try (ServerSocket listener = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
      AtomicInteger accepted = new AtomicInteger();
      CompletableFuture<Void> acceptor = accept(listener, accepted);
      List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--bounding-set=-sys_admin",
          "--inh-caps=-sys_admin", "--",
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
          "-cp", System.getProperty("java.class.path"), ContainerLikeSandboxMain.class.getName(),
          "net=import socket\\ns = socket.create_connection(('127.0.0.1', " + listener.getLocalPort()
              + "), timeout=2)\\nprint('CONNECTED')",
          "read=print(open('" + hostFile + "').read())",
          "env=import os\\nprint(sorted(os.environ))",
          "ok=print(6 * 7)"));
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("FRACTAL_TEST_SECRET", secret);
      Process jvm = pb.start();
      jvm.getOutputStream().close();
      String out = readAll(jvm.getInputStream());
      assertThat(jvm.waitFor(120, TimeUnit.SECONDS)).isTrue();
      String layers = line(out, "LAYERS ");
      assertThat(layers).doesNotContain("bubblewrap").contains("landlock").contains("seccomp")
          .contains("uid").contains("no-new-privs");
      // without CAP_SYS_ADMIN no mount namespace: the self-test switched the layer off, runs go on
      assertThat(layers).doesNotContain(Confinement.WORKDIR_TMPFS);
      assertThat(line(out, "BWRAP ")).containsAnyOf("cannot create its namespaces", "not installed");
      assertThat(line(out, "RUNS ")).isEqualTo("true");
      assertThat(line(out, "RESULT net ")).contains("success=false").doesNotContain("CONNECTED");
      assertThat(line(out, "RESULT read ")).contains("success=false").doesNotContain(secret);
      assertThat(line(out, "RESULT env ")).doesNotContain("FRACTAL_TEST_SECRET");
      assertThat(line(out, "RESULT ok ")).contains("success=true").contains("stdout=42|");
      acceptor.cancel(true);
      assertThat(accepted.get()).isZero();
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static Path shareable(Path dir) throws IOException {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path launcher = dir.resolve("launcher.py");
    try (InputStream in = PythonSandbox.class.getResourceAsStream("launcher.py")) {
      Files.copy(in, launcher);
    }
    launcher.toFile().setReadable(true, false);
    return launcher;
  }

  /** A new directory nobody (the launcher's uid here) may write: a work dir or a host dir. */
  private static Path worldWritable(Path dir) throws IOException {
    Files.createDirectory(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    return dir;
  }

  private static ObjectNode header(Path work, List<String> layers) {
    ObjectNode h = JSON.createObjectNode();
    h.put("workdir", work.toString());
    h.put("own_pid_namespace", false);
    h.put("timeout_ms", 30_000);
    h.put("memory_mb", 512);
    h.put("max_processes", 64);
    h.put("max_output_bytes", 65_536);
    h.put("file_size_bytes", SandboxLimits.DEFAULT_FILE_SIZE_BYTES);
    h.put("workdir_bytes", SandboxLimits.DEFAULT_WORK_DIR_BYTES);
    h.put("cpu_seconds", 31);
    h.set("layers", JSON.valueToTree(layers));
    h.set("read_exec", JSON.valueToTree(List.of("/usr", "/lib", "/lib64", "/bin", "/sbin")));
    return h;
  }

  /** One launcher run as nobody, the worker's pid guarded as a role would guard its own. */
  private static JsonNode runAsNobody(Path launcher, ObjectNode header, long workerPid) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(List.of("/usr/bin/setpriv", "--reuid=" + NOBODY,
        "--regid=" + NOBODY, "--clear-groups", "--", PythonLocator.locate().toString(), "-I",
        launcher.toString()));
    pb.environment().clear();
    pb.environment().putAll(Map.of("PATH", "/usr/bin:/bin", "LANG", "C.UTF-8",
        "FRACTAL_GUARDED_PIDS", Long.toString(workerPid)));
    pb.directory(launcher.getParent().toFile());
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      JsonNode ready = JSON.readTree(out.readLine());
      assertThat(ready.path("ready").asBoolean()).isTrue();
      assertThat(ready.path("subreaper").asBoolean()).isTrue();
      try (OutputStream in = p.getOutputStream()) {
        in.write(PythonSandbox.frame(header, null));
      }
      JsonNode result = JSON.readTree(out.readLine());
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      return result;
    } finally {
      p.destroyForcibly();
    }
  }

  private static CompletableFuture<Void> accept(ServerSocket listener, AtomicInteger accepted)
      throws IOException {
    listener.setSoTimeout(100);
    return CompletableFuture.runAsync(() -> {
      while (!Thread.currentThread().isInterrupted() && !listener.isClosed()) {
        try (Socket s = listener.accept()) {
          accepted.incrementAndGet();
        } catch (SocketTimeoutException e) {
          // keep listening
        } catch (IOException e) {
          return;
        }
      }
    });
  }

  private static String statField(long pid, int field) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[field - 3];
  }

  private static String readAll(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }

  private static String line(String out, String prefix) {
    return out.lines().filter(l -> l.startsWith(prefix)).findFirst()
        .map(l -> l.substring(prefix.length())).orElseThrow(() -> new AssertionError(
            "no line " + prefix + " in:\n" + out));
  }

  private static String uidOfThisProcess() {
    try {
      return String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (IOException e) {
      return "?";
    }
  }
}
