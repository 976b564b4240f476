package io.fractalrmo.app.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * JFR, which the JDK carries, for {@code fractal bench --profile DIR}: a recording of this JVM
 * during the work and the plumbing phases, the broker child's recording over the whole run (started with its JVM), and
 * the top items of each: execution samples by thread, by the method on top of the stack, and by
 * the first frame in fractal's own code.
 */
final class Profile {

  /** Top items of one recording. */
  record Top(String jvm, long samples, Map<String, Long> byThread, Map<String, Long> byTopFrame,
      Map<String, Long> byFractalFrame) {
  }

  private final Path dir;
  private Recording recording;

  Profile(Path dir) throws IOException {
    this.dir = Files.createDirectories(dir);
  }

  Path dir() {
    return dir;
  }

  /** The option that makes the broker JVM record from its start, dumped when it exits. */
  String brokerJvmOption() {
    return "-XX:StartFlightRecording=settings=profile,dumponexit=true,filename="
        + dir.resolve("broker.jfr").toAbsolutePath();
  }

  void start() throws Exception {
    recording = new Recording(Configuration.getConfiguration("profile"));
    // 'profile' samples every 10 ms (at most a few threads per period): too few samples of a
    // 15 s phase to rank the items below the first few
    recording.enable("jdk.ExecutionSample").withPeriod(java.time.Duration.ofMillis(2));
    recording.setName("fractal-bench");
    recording.start();
  }

  Path stop(String name) throws IOException {
    Path file = dir.resolve(name + ".jfr");
    recording.stop();
    recording.dump(file);
    recording.close();
    recording = null;
    return file;
  }

  static Top top(String jvm, Path file, int n) throws IOException {
    Map<String, Long> byThread = new HashMap<>();
    Map<String, Long> byTop = new HashMap<>();
    Map<String, Long> byOwn = new HashMap<>();
    long samples = 0;
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      if (!e.getEventType().getName().equals("jdk.ExecutionSample")) {
        continue;
      }
      samples++;
      String thread = e.getThread("sampledThread") == null ? "?"
          : Cpu.threadGroup(e.getThread("sampledThread").getJavaName());
      byThread.merge(thread, 1L, Long::sum);
      RecordedStackTrace st = e.getStackTrace();
      if (st == null || st.getFrames().isEmpty()) {
        continue;
      }
      List<RecordedFrame> frames = st.getFrames();
      byTop.merge(name(frames.get(0)), 1L, Long::sum);
      for (RecordedFrame f : frames) {
        String type = f.getMethod().getType().getName();
        if (type.startsWith("io.fractalrmo.")) {
          byOwn.merge(name(f), 1L, Long::sum);
          break;
        }
      }
    }
    return new Top(jvm, samples, first(byThread, n), first(byTop, n), first(byOwn, n));
  }

  private static String name(RecordedFrame f) {
    String type = f.getMethod().getType().getName();
    return type.substring(type.lastIndexOf('.') + 1) + "." + f.getMethod().getName()
        + " (" + packageOf(type) + ")";
  }

  private static String packageOf(String type) {
    int dot = type.lastIndexOf('.');
    return dot < 0 ? "" : type.substring(0, dot);
  }

  private static Map<String, Long> first(Map<String, Long> counts, int n) {
    Map<String, Long> out = new LinkedHashMap<>();
    counts.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(n).forEach(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }
}
