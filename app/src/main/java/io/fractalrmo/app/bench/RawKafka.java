package io.fractalrmo.app.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * Raw Kafka on the same broker, as Kafka's own tools measure it: {@code ProducerPerformance}
 * (acks=all, idempotent, linger 5 ms, as the workers' producers; exactly-once: transactional,
 * a transaction every 100 ms, the workers' commit interval) and {@code ConsumerPerformance}
 * (exactly-once: read_committed), each in a child JVM on this jar's classpath, against a fresh
 * topic with the catalogue's 3 partitions. The capacity of a raw hop is the slower of the two.
 */
final class RawKafka {

  private static final Pattern PRODUCED = Pattern.compile(
      "(\\d+) records sent, ([0-9.]+) records/sec");

  /** One size in one mode. */
  record Result(String mode, int recordBytes, long records, double producePerSecond,
      double consumePerSecond) {

    /** Records/s a hop (consume and produce, pipelined) could move at most. */
    double hopPerSecond() {
      return Math.min(producePerSecond, consumePerSecond);
    }
  }

  private final String bootstrap;
  private final String prefix;

  RawKafka(String bootstrap, String prefix) {
    this.bootstrap = bootstrap;
    this.prefix = prefix;
  }

  Result measure(boolean exactlyOnce, int recordBytes, long records) throws Exception {
    String mode = exactlyOnce ? "exactly-once" : "at-least-once";
    String topic = prefix + "raw-" + (exactlyOnce ? "eos" : "alos") + "-" + recordBytes;
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) -1))).all()
          .get(60, TimeUnit.SECONDS);
    }
    List<String> produce = new ArrayList<>(List.of("org.apache.kafka.tools.ProducerPerformance",
        "--bootstrap-server", bootstrap, "--topic", topic, "--num-records", Long.toString(records),
        "--record-size", Integer.toString(recordBytes), "--throughput", "-1",
        "--command-property", "acks=all", "enable.idempotence=true", "linger.ms=5"));
    if (exactlyOnce) {
      produce.addAll(List.of("--transactional-id", "fractal-bench-" + UUID.randomUUID(),
          "--transaction-duration-ms", "100"));
    }
    String out = java(produce);
    Matcher m = null;
    for (String line : out.split("\n")) {
      Matcher candidate = PRODUCED.matcher(line);
      if (candidate.find()) {
        m = candidate; // the last such line is the summary
      }
    }
    if (m == null) {
      throw new IllegalStateException("ProducerPerformance printed no summary:\n" + tail(out));
    }
    double produced = Double.parseDouble(m.group(2));
    List<String> consume = new ArrayList<>(List.of("org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server", bootstrap, "--topic", topic, "--num-records",
        Long.toString(records), "--group", "fractal-bench-" + UUID.randomUUID(), "--timeout",
        "60000"));
    if (exactlyOnce) {
      consume.addAll(List.of("--command-property", "isolation.level=read_committed"));
    }
    String cout = java(consume);
    double consumed = -1;
    String[] lines = cout.split("\n");
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].startsWith("start.time")) {
        List<String> header = List.of(lines[i].split(",\\s*"));
        String[] values = lines[i + 1].split(",\\s*");
        // fetch.nMsg.sec leaves out the group's join (rebalance) time
        consumed = Double.parseDouble(values[header.indexOf("fetch.nMsg.sec")].trim());
      }
    }
    if (consumed < 0) {
      throw new IllegalStateException("ConsumerPerformance printed no figures:\n" + tail(cout));
    }
    return new Result(mode, recordBytes, records, produced, consumed);
  }

  private static String java(List<String> args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.add("-Dlog4j2.level=WARN");
    command.add("-cp");
    command.add(classPath());
    command.addAll(args);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(args.get(0) + " did not finish within 120 s");
    }
    String text = new String(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IllegalStateException(args.get(0) + " exited " + p.exitValue() + ":\n" + tail(text));
    }
    return text;
  }

  private static String classPath() {
    StringBuilder out = new StringBuilder();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      if (!entry.isEmpty()) {
        out.append(out.length() > 0 ? java.io.File.pathSeparator : "")
            .append(Path.of(entry).toAbsolutePath().normalize());
      }
    }
    return out.toString();
  }

  private static String tail(String text) {
    return text.length() <= 2000 ? text : text.substring(text.length() - 2000);
  }
}
