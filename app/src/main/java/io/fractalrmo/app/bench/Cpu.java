package io.fractalrmo.app.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * CPU time, the measure a shared machine cannot distort much: machine-wide busy time from
 * {@code /proc/stat} (all CPUs, everything but idle and iowait: kernel threads, softirq and
 * other sessions included), the CPU of this process tree from {@code /proc/<pid>/stat} (this JVM,
 * the broker child, PostgreSQL, the Python helpers and sandboxes, and whatever they reaped), by
 * kind of process, and of this JVM's threads by name ({@link ThreadMXBean}), with its own native
 * threads — JIT compilers, garbage collector, VM thread — from {@code /proc/self/task}, which
 * {@link ThreadMXBean} does not see (so JIT warm-up shows where it goes). A {@link Snapshot}
 * is taken at the start and end of a phase; {@link #between} is the difference.
 */
final class Cpu {

  /** USER_HZ: {@code /proc} counts CPU in ticks of 10 ms on Linux. */
  private static final long TICK_MS = 10;
  private static final Pattern UUID = Pattern.compile(
      "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final Pattern NUMBERS = Pattern.compile("\\d+");

  private Cpu() {
  }

  /** What was counted at one moment. */
  record Snapshot(long atNanos, long machineBusyMs, long machineTotalMs, Map<Long, Long> processMs,
      Map<Long, String> kinds, Map<Long, Long> threadNs, Map<Long, String> threadNames,
      double loadAverage) {
  }

  /** CPU spent between two snapshots. */
  record Usage(double wallMs, long machineBusyMs, long machineCapacityMs, long treeMs,
      Map<String, Long> byKind, Map<String, Long> jvmThreadsMs, double loadAverage) {

    /** Share of the machine's capacity that was busy. */
    double machineBusyShare() {
      return machineCapacityMs == 0 ? 0 : (double) machineBusyMs / machineCapacityMs;
    }
  }

  static Snapshot snapshot() {
    long[] stat = machine();
    Map<Long, Long> processes = new HashMap<>();
    Map<Long, String> kinds = new HashMap<>();
    long self = ProcessHandle.current().pid();
    long[] own = ownAndReapedMs(self);
    processes.put(self, own[0]);
    kinds.put(self, "fractal JVM (its own threads)");
    processes.put(-self, own[1]);
    kinds.put(-self, REAPED);
    ProcessHandle.current().descendants().forEach(p -> {
      long ms = processMs(p.pid());
      if (ms >= 0) {
        processes.put(p.pid(), ms);
        kinds.put(p.pid(), kind(p));
      }
    });
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Map<Long, Long> threadNs = new HashMap<>();
    Map<Long, String> names = new HashMap<>();
    if (threads.isThreadCpuTimeSupported()) {
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        long ns = threads.getThreadCpuTime(t.getId());
        if (ns >= 0) {
          threadNs.put(t.getId(), ns);
          names.put(t.getId(), t.getName());
        }
      }
    }
    vmThreads(threadNs, names);
    return new Snapshot(System.nanoTime(), stat[0], stat[1], processes, kinds, threadNs, names,
        loadAverage());
  }

  static final String JIT = "JVM JIT compiler threads";
  static final String GC = "JVM garbage collector threads";
  static final String VM = "JVM VM thread (safepoints)";

  /**
   * The group of one of the JVM's own native threads by its kernel name ({@code comm}, at most
   * 15 characters), or null for a Java thread (counted by {@link ThreadMXBean}).
   */
  static String vmThreadGroup(String comm) {
    if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")
        || comm.startsWith("Sweeper thread")) {
      return JIT;
    }
    if (comm.startsWith("GC Thread") || comm.startsWith("G1 ") || comm.startsWith("ZWorker")
        || comm.startsWith("ZDirector") || comm.startsWith("Shenandoah")) {
      return GC;
    }
    if (comm.equals("VM Thread")) {
      return VM;
    }
    return null;
  }

  /** Adds this JVM's native threads (keyed by minus their tid, apart from Java thread ids). */
  private static void vmThreads(Map<Long, Long> threadNs, Map<Long, String> names) {
    try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
      for (Path task : tasks) {
        try {
          String group = vmThreadGroup(Files.readString(task.resolve("comm")).strip());
          if (group == null) {
            continue;
          }
          String stat = Files.readString(task.resolve("stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          long id = -Long.parseLong(task.getFileName().toString());
          threadNs.put(id, (Long.parseLong(f[11]) + Long.parseLong(f[12])) * TICK_MS * 1_000_000);
          names.put(id, group);
        } catch (IOException | RuntimeException e) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException | RuntimeException e) {
      // no /proc: the Java threads alone
    }
  }

  static Usage between(Snapshot a, Snapshot b) {
    long tree = 0;
    Map<String, Long> byKind = new TreeMap<>();
    for (Map.Entry<Long, Long> e : b.processMs().entrySet()) {
      long before = a.processMs().getOrDefault(e.getKey(), 0L);
      long delta = Math.max(0, e.getValue() - before);
      tree += delta;
      byKind.merge(b.kinds().getOrDefault(e.getKey(), "other"), delta, Long::sum);
    }
    Map<String, Long> threads = new HashMap<>();
    for (Map.Entry<Long, Long> e : b.threadNs().entrySet()) {
      long before = a.threadNs().getOrDefault(e.getKey(), 0L);
      long delta = Math.max(0, e.getValue() - before);
      threads.merge(threadGroup(b.threadNames().get(e.getKey())), delta / 1_000_000, Long::sum);
    }
    Map<String, Long> sorted = new LinkedHashMap<>();
    threads.entrySet().stream().filter(e -> e.getValue() > 0)
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    double wallMs = (b.atNanos() - a.atNanos()) / 1e6;
    long capacity = Math.round(wallMs * Runtime.getRuntime().availableProcessors());
    return new Usage(wallMs, b.machineBusyMs() - a.machineBusyMs(), capacity, tree, byKind, sorted,
        Math.max(a.loadAverage(), b.loadAverage()));
  }

  /** A thread's name without the ids that change from run to run (uuids, numbers, prefixes). */
  static String threadGroup(String name) {
    if (name == null) {
      return "?";
    }
    String n = UUID.matcher(name).replaceAll("*");
    // a phase's topic prefix (bench-<run>-<phase>.) is not part of what the thread is
    n = n.replaceAll("bench-[A-Za-z0-9]+-[A-Za-z0-9]+\\.", "");
    n = NUMBERS.matcher(n).replaceAll("N");
    if (n.contains("StreamThread")) {
      return "kafka-streams StreamThread";
    }
    if (n.startsWith("kafka-producer-network-thread")) {
      return "kafka-producer-network-thread";
    }
    if (n.startsWith("kafka-coordinator-heartbeat-thread")) {
      return "kafka-coordinator-heartbeat-thread";
    }
    if (n.startsWith("consumer_background_thread") || n.contains("consumer_background")) {
      return "kafka consumer background thread";
    }
    return n;
  }

  /** The kind of a descendant process, from its command line. */
  private static String kind(ProcessHandle p) {
    String cmd = commandLine(p.pid());
    if (cmd.contains("BrokerMain") || cmd.contains("kafka.Kafka")) {
      return "Kafka broker JVM";
    }
    if (cmd.contains("ProducerPerformance") || cmd.contains("ConsumerPerformance")) {
      return "raw Kafka tools (ProducerPerformance/ConsumerPerformance)";
    }
    if (cmd.contains("postgres") || cmd.contains("setpriv")) {
      return "PostgreSQL";
    }
    if (cmd.contains("analysis_helper")) {
      return "Python analysis helpers";
    }
    if (cmd.contains("launcher") || cmd.contains("bwrap")) {
      return "sandbox (bwrap, launcher, task code)";
    }
    if (cmd.contains("python")) {
      return "python3 (bare runs, other)";
    }
    return "other child processes";
  }

  private static String commandLine(long pid) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
      return new String(raw, StandardCharsets.UTF_8).replace('\0', ' ');
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  /** What this JVM reaped: every process it started and waited for (sandbox runs, bare runs). */
  static final String REAPED = "processes this JVM started and reaped (sandbox and bare runs)";

  /** {utime + stime, cutime + cstime} of a process in ms; {-1, -1} when it is gone. */
  static long[] ownAndReapedMs(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return new long[] {(Long.parseLong(f[11]) + Long.parseLong(f[12])) * TICK_MS,
          (Long.parseLong(f[13]) + Long.parseLong(f[14])) * TICK_MS};
    } catch (IOException | RuntimeException e) {
      return new long[] {-1, -1};
    }
  }

  /** utime + stime + cutime + cstime of a process, in ms; -1 when it is gone. */
  static long processMs(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      // fields after the command: state(3) ... utime(14) stime(15) cutime(16) cstime(17)
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13])
          + Long.parseLong(f[14]);
      return ticks * TICK_MS;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** {busy, total} ms of all CPUs since boot. */
  static long[] machine() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
      String[] f = lines.get(0).trim().split("\\s+");
      long total = 0;
      long idle = 0;
      for (int i = 1; i < f.length && i <= 8; i++) {
        long v = Long.parseLong(f[i]);
        total += v;
        if (i == 4 || i == 5) { // idle, iowait
          idle += v;
        }
      }
      return new long[] {(total - idle) * TICK_MS, total * TICK_MS};
    } catch (IOException | RuntimeException e) {
      return new long[] {0, 0};
    }
  }

  /** The 1-minute load average (-1 when unknown). */
  static double loadAverage() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

}
