package io.fractalrmo.platform.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Main class of the broker child process started by {@link EmbeddedKafka}: formats the KRaft
 * storage on first use, then runs {@code kafka.Kafka}. It exits (through Kafka's own shutdown
 * hook, so the log is closed cleanly) when its standard input reaches end of file, which happens
 * when the parent JVM dies by any means, even {@code kill -9}: the broker never outlives it.
 *
 * <p>Arguments: {@code <server.properties> <log dir> <cluster id>}.
 */
public final class BrokerMain {

  private BrokerMain() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: BrokerMain <server.properties> <log dir> <cluster id>");
      System.exit(2);
    }
    Path properties = Path.of(args[0]);
    Path logDir = Path.of(args[1]);
    String clusterId = args[2];

    watchParent();

    if (!Files.exists(logDir.resolve("meta.properties"))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int rc;
      try (PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8)) {
        rc = kafka.tools.StorageTool.execute(
            new String[] {"format", "-t", clusterId, "-c", properties.toString(), "--ignore-formatted"},
            print);
      }
      System.err.print(out.toString(StandardCharsets.UTF_8));
      if (rc != 0) {
        System.err.println("formatting the KRaft storage failed with exit code " + rc);
        System.exit(rc);
      }
    }
    kafka.Kafka.main(new String[] {properties.toString()});
  }

  private static void watchParent() {
    Thread watcher = new Thread(() -> {
      InputStream in = System.in;
      byte[] buffer = new byte[256];
      try {
        while (in.read(buffer) >= 0) {
          // the parent never writes; keep reading until the pipe closes
        }
      } catch (IOException e) {
        // a broken pipe means the same as end of file
      }
      System.err.println("standard input closed (the parent stopped or is gone): shutting the broker down");
      System.exit(0);
    }, "fractal-parent-watch");
    watcher.setDaemon(true);
    watcher.start();
  }
}
