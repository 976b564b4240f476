package io.fractalrmo.registry.bench;

import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.apache.kafka.common.serialization.Serde;

/**
 * The Java side of the manual interop check (see src/test/interop/README.md): starts a registry,
 * writes a framed Task for a Confluent client in another language, waits (at most 60 s) for that
 * client's frame and reads it back.
 */
public final class InteropPeer {

  private InteropPeer() {
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args.length > 0 ? args[0] : ".");
    Files.deleteIfExists(dir.resolve("node.b64"));
    try (SchemaRegistryServer s = SchemaRegistryServer.startInMemory(0);
         Serde<Task> serde = FractalSerdes.value(Task.class, FractalSerdes.config(s.url()))) {
      Task t = Mothers.aTask().setTaskId("from-java-\u00e9\u4e2d").setAttributes(Map.of("k", "v")).build();
      Files.writeString(dir.resolve("java.b64"),
          Base64.getEncoder().encodeToString(serde.serializer().serialize("interop.tasks", t)));
      Files.writeString(dir.resolve("url.txt"), s.url());
      Path fromNode = dir.resolve("node.b64");
      long deadline = System.currentTimeMillis() + 60_000;
      while (!Files.exists(fromNode) && System.currentTimeMillis() < deadline) {
        Thread.sleep(100); // polling a file another process writes; bounded by the deadline
      }
      Task back = serde.deserializer().deserialize("interop.tasks",
          Base64.getDecoder().decode(Files.readString(fromNode).trim()));
      System.out.println("Java read the other client's record: task_id=" + back.getTaskId()
          + " priority=" + back.getPriority() + " submitted_at=" + back.getSubmittedAt()
          + " attributes=" + back.getAttributes());
    }
  }
}
