package io.fractalrmo.agentworkers.testing;

import io.fractalrmo.agentworkers.worker.RecordHandler;
import io.fractalrmo.agentworkers.worker.WorkerGroup;
import io.fractalrmo.agentworkers.worker.WorkerSpec;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * An echo worker in its own JVM, so a test can kill it abruptly ({@code destroyForcibly}). Args:
 * bootstrap servers, registry URL, topic prefix, output topic, group id, delay per record (ms),
 * hold-at (the n-th handled record blocks forever; 0 = never). Prints {@code SUBSCRIBED <agent>}
 * once its worker has joined and {@code HOLDING <key>} when it blocks, then runs until killed
 * (SIGKILL: nothing runs; SIGTERM: the worker group closes cleanly) or stdin closes.
 */
public final class ChildWorkerMain {

  private ChildWorkerMain() {
  }

  public static void main(String[] args) throws IOException {
    Endpoints endpoints = new Endpoints(args[0], args[1], Optional.empty(),
        TopicCatalog.withPrefix(args[2]));
    int holdAt = Integer.parseInt(args[6]);
    PrintStream out = System.out;
    WorkerSpec<Task> spec = echoSpec(endpoints, args[4], agentId -> new EchoHandler(args[3],
        Long.parseLong(args[5]), agentId, holdAt, key -> {
          out.println("HOLDING " + key);
          out.flush();
        }));
    try (WorkerGroup group = WorkerGroup.start(endpoints, spec, 1,
        FractalSerdes.config(endpoints.schemaRegistryUrl()))) {
      group.closeOnShutdown(); // SIGTERM: finish or abort the transaction, leave the group
      out.println("SUBSCRIBED " + group.workers().get(0).agentId());
      out.flush();
      while (System.in.read() >= 0) {
        // runs until the parent closes stdin or kills this JVM
      }
    }
  }

  /** An echo worker spec (short session timeout so a killed member is noticed quickly). */
  public static WorkerSpec<Task> echoSpec(Endpoints endpoints, String outputTopic,
      String groupId, long delayMillis) {
    return echoSpec(endpoints, groupId,
        agentId -> new EchoHandler(outputTopic, delayMillis, agentId));
  }

  static WorkerSpec<Task> echoSpec(Endpoints endpoints, String groupId,
      Function<String, RecordHandler<Task>> handlers) {
    return WorkerSpec.of("echo", "echo", groupId, endpoints.topics().tasks().name(), Task.class,
            handlers)
        .withConsumerOverrides(Map.of(
            "session.timeout.ms", 6_000,
            "heartbeat.interval.ms", 1_000))
        .withProducerOverrides(Map.of("transaction.timeout.ms", 10_000));
  }
}
