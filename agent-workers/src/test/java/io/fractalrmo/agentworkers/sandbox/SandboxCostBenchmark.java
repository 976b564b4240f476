package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset;
import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset.Problem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one sandboxed run costs against bare {@code /usr/bin/python3 -I} running the same program,
 * measured alternately in one run so every mode sees the same machine load. It prints a table; it
 * asserts only that every run succeeded (figures, not pass/fail).
 *
 * <p>Per run: wall time; CPU of the whole process tree outside this JVM (the launcher, bubblewrap,
 * the program and all its children) and of this JVM during the {@code run} call (the sandbox's Java
 * side, with whatever else the JVM does meanwhile); machine-wide busy time from
 * {@code /proc/stat} (all CPUs, everything but idle and iowait), because bubblewrap's namespace
 * set-up and teardown runs partly in kernel threads that no process is charged for. The tree's CPU
 * comes from a cgroup v2 group this JVM moves itself into (every process it starts inherits it, so
 * nothing escapes the count however it is reaped; the JVM's own CPU is subtracted), where this
 * user may make one; otherwise from {@code cutime+cstime}, which misses what bubblewrap runs: its
 * outer process does not reap the namespace's pid 1, so that CPU never reaches this JVM. A sandbox
 * run's window lasts until its launcher is reaped and the warm pool has refilled, so the cost of
 * starting the next launcher is counted where it belongs. After each sample an idle window of the
 * same length measures the background load of the (shared) machine; "busy - idle" subtracts it.
 * The table says which tree meter it used.
 *
 * <p>Opt-in: {@code ./mvnw -B -o -pl agent-workers -am verify -Dtest=SandboxCostBenchmark
 * -Dsurefire.failIfNoSpecifiedTests=false -Dfractal.figures=true} (≈ 1 min; {@code
 * -Dfractal.figures.runs=N} per mode, default 40).
 */
@EnabledIfSystemProperty(named = "fractal.figures", matches = "true")
class SandboxCostBenchmark {

  private static final Logger log = LoggerFactory.getLogger(SandboxCostBenchmark.class);
  private static final long TICK_MS = 10; // USER_HZ = 100 on Linux
  private static final String TRIVIAL = "print(sum(range(10)))\n";

  /** One measured sample. */
  private record Sample(long wallNs, double treeCpuMs, double jvmCpuMs, long machineBusyMs,
      long windowNs, long idleBusyMs) {}

  @Test
  void sandboxedRunCostAgainstBarePython(@TempDir Path dir) throws Exception {
    int runs = Integer.getInteger("fractal.figures.runs", 40);
    Problem he = HumanEvalDataset.load().get(0);
    Program heProgram = Program.withTests(he.solution(), he.test(), he.entryPoint());
    Path trivialFile = Files.writeString(dir.resolve("trivial.py"), TRIVIAL);
    Path heFile = Files.writeString(dir.resolve("he.py"),
        he.solution() + "\n\n" + he.test() + "\n\ncheck(" + he.entryPoint() + ")\n");
    String python = PythonLocator.locate().toString();

    Map<String, List<Sample>> samples = new LinkedHashMap<>();
    TreeMeter meter = TreeMeter.open();
    try (meter; PythonSandbox bwrap = PythonSandbox.create(new PythonSandbox.Options(1, true));
         PythonSandbox noBwrap = PythonSandbox.create(new PythonSandbox.Options(1, false))) {
      Map<String, Supplier<Boolean>> modes = new LinkedHashMap<>();
      modes.put("bare python3 -I, trivial", () -> bare(python, trivialFile));
      modes.put("sandbox (" + describe(bwrap) + "), trivial",
          () -> bwrap.run(TRIVIAL, SandboxLimits.defaults()).success());
      modes.put("sandbox (" + describe(noBwrap) + "), trivial",
          () -> noBwrap.run(TRIVIAL, SandboxLimits.defaults()).success());
      modes.put("bare python3 -I, " + he.taskId() + " + tests", () -> bare(python, heFile));
      modes.put("sandbox (" + describe(bwrap) + "), " + he.taskId() + " + tests",
          () -> bwrap.run(heProgram, SandboxLimits.defaults()).success());
      modes.put("sandbox (" + describe(noBwrap) + "), " + he.taskId() + " + tests",
          () -> noBwrap.run(heProgram, SandboxLimits.defaults()).success());
      List<PythonSandbox> sandboxes = List.of(bwrap, noBwrap);
      // two warm-up rounds, not counted
      for (int round = -2; round < runs; round++) {
        for (Map.Entry<String, Supplier<Boolean>> mode : modes.entrySet()) {
          settle(sandboxes);
          Sample s = measure(mode.getValue(), sandboxes, meter);
          long idleBusy = measureIdle(s.windowNs());
          if (round >= 0) {
            samples.computeIfAbsent(mode.getKey(), k -> new ArrayList<>()).add(new Sample(s.wallNs(),
                s.treeCpuMs(), s.jvmCpuMs(), s.machineBusyMs(), s.windowNs(), idleBusy));
          }
        }
      }
    }
    StringBuilder table = new StringBuilder(String.format(
        "%nSandbox cost per run (n=%d per mode, alternating; %s; tree CPU from %s; load avg %s)%n",
        runs, PythonLocator.locate(), meter.name(), loadAverage()));
    table.append(String.format("%-58s %9s %9s %12s %11s %13s %13s %13s %10s%n", "mode", "wall p50",
        "wall avg", "tree CPU avg", "JVM CPU", "machine busy", "idle window", "busy - idle",
        "window avg"));
    for (Map.Entry<String, List<Sample>> e : samples.entrySet()) {
      List<Sample> xs = e.getValue();
      long[] wall = xs.stream().mapToLong(Sample::wallNs).toArray();
      double busy = xs.stream().mapToLong(Sample::machineBusyMs).average().orElse(0);
      double idle = xs.stream().mapToLong(Sample::idleBusyMs).average().orElse(0);
      table.append(String.format("%-58s %7.1fms %7.1fms %10.1fms %9.1fms %11.1fms %11.1fms %11.1fms %8.1fms%n",
          e.getKey(), p50(wall) / 1e6, avg(wall) / 1e6,
          xs.stream().mapToDouble(Sample::treeCpuMs).average().orElse(0),
          xs.stream().mapToDouble(Sample::jvmCpuMs).average().orElse(0), busy, idle, busy - idle,
          xs.stream().mapToLong(Sample::windowNs).average().orElse(0) / 1e6));
    }
    log.info("FIGURE {}", table);
  }

  private static String describe(PythonSandbox s) {
    List<String> layers = s.confinement().layers();
    return (layers.contains(Confinement.BUBBLEWRAP) ? "bwrap+" : "")
        + (layers.contains(Confinement.LANDLOCK) ? "landlock+seccomp" : String.join("+", layers))
        + (s.reusesLaunchers() ? ", zygote" : ", launcher per run");
  }

  private static boolean bare(String python, Path file) {
    try {
      Process p = new ProcessBuilder(python, "-I", file.toString())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      p.getOutputStream().close();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static Sample measure(Supplier<Boolean> run, List<PythonSandbox> sandboxes, TreeMeter meter) {
    double tree0 = meter.treeMs();
    double jvm0 = jvmCpuMs();
    long busy0 = machineBusyTicks();
    long t0 = System.nanoTime();
    boolean ok = run.get();
    long wall = System.nanoTime() - t0;
    double jvmInRun = jvmCpuMs() - jvm0; // the sandbox's Java side; settle()'s polling is not its cost
    settle(sandboxes);
    long window = System.nanoTime() - t0;
    assertThat(ok).as("every measured run succeeds").isTrue();
    double jvm = jvmCpuMs() - jvm0;
    double tree = meter.treeMs() - tree0;
    return new Sample(wall, meter.includesJvm() ? tree - jvm : tree, jvmInRun,
        (machineBusyTicks() - busy0) * TICK_MS, window, 0);
  }

  private static double jvmCpuMs() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime() / 1e6;
  }

  /**
   * CPU of the process tree: a cgroup v2 group this JVM moves into (children inherit it; includes
   * the JVM itself), else the JVM's reaped children.
   */
  private static final class TreeMeter implements AutoCloseable {
    private final Path group;
    private final Path home;

    private TreeMeter(Path group, Path home) {
      this.group = group;
      this.home = home;
    }

    static TreeMeter open() {
      try {
        Path root = Files.exists(Path.of("/sys/fs/cgroup/unified/cgroup.procs"))
            ? Path.of("/sys/fs/cgroup/unified") : Path.of("/sys/fs/cgroup");
        String self = Files.readAllLines(Path.of("/proc/self/cgroup")).stream()
            .filter(l -> l.startsWith("0::")).findFirst().orElse(null);
        if (self == null || !Files.exists(root.resolve("cpu.stat"))) {
          return new TreeMeter(null, null);
        }
        Path home = root.resolve(self.substring(3).replaceFirst("^/", ""));
        Path group = home.resolve("fractal-bench-" + ProcessHandle.current().pid());
        Files.createDirectory(group);
        Files.writeString(group.resolve("cgroup.procs"), Long.toString(ProcessHandle.current().pid()));
        return new TreeMeter(group, home);
      } catch (IOException | RuntimeException e) {
        log.info("no cgroup for the tree's CPU ({}); counting reaped children instead", e.toString());
        return new TreeMeter(null, null);
      }
    }

    String name() {
      return group != null ? "cgroup " + group : "cutime+cstime (misses bubblewrap's processes)";
    }

    boolean includesJvm() {
      return group != null;
    }

    double treeMs() {
      if (group == null) {
        return childrenCpuTicks() * TICK_MS;
      }
      try {
        return Files.readAllLines(group.resolve("cpu.stat")).stream()
            .filter(l -> l.startsWith("usage_usec ")).mapToLong(l -> Long.parseLong(l.substring(11).strip()))
            .findFirst().orElse(0) / 1e3;
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    @Override
    public void close() throws IOException {
      if (group != null) {
        Files.writeString(home.resolve("cgroup.procs"), Long.toString(ProcessHandle.current().pid()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
          try {
            Files.delete(group); // empty once every child left (they were all waited for)
            return;
          } catch (IOException e) {
            if (System.nanoTime() > deadline) {
              log.warn("could not remove {}: {}", group, e.toString());
              return;
            }
            Thread.onSpinWait();
          }
        }
      }
    }
  }

  /** Machine busy ms in an idle window of the same length: the background load to subtract. */
  private static long measureIdle(long windowNs) throws InterruptedException {
    long busy0 = machineBusyTicks();
    TimeUnit.NANOSECONDS.sleep(windowNs); // the idle window itself is what is measured
    return (machineBusyTicks() - busy0) * TICK_MS;
  }

  /** Until every used launcher is reaped and each pool is full again (bounded wait). */
  private static void settle(List<PythonSandbox> sandboxes) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      int warm = sandboxes.stream().mapToInt(PythonSandbox::warmCount).sum();
      long children = ProcessHandle.current().children().count();
      if (warm == sandboxes.size() && children <= warm) {
        return;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // polling must not burn the CPU it measures
    }
  }

  /** cutime + cstime of this JVM: CPU of every child process reaped so far (and theirs). */
  private static long childrenCpuTicks() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      // fields after the comm: state is index 0 = field 3; cutime is field 16, cstime 17
      return Long.parseLong(f[16 - 3]) + Long.parseLong(f[17 - 3]);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Busy jiffies of all CPUs: user nice system irq softirq steal (not idle, not iowait). */
  private static long machineBusyTicks() {
    try {
      String cpu = Files.readAllLines(Path.of("/proc/stat")).get(0);
      long[] v = Arrays.stream(cpu.substring(3).trim().split("\\s+")).mapToLong(Long::parseLong).toArray();
      return v[0] + v[1] + v[2] + v[5] + v[6] + (v.length > 7 ? v[7] : 0);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).strip();
    } catch (IOException e) {
      return "?";
    }
  }

  private static long p50(long[] xs) {
    long[] s = xs.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  private static double avg(long[] xs) {
    return Arrays.stream(xs).average().orElse(0);
  }
}
