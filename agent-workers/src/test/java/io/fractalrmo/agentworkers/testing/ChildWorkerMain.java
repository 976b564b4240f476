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
 * hold-at (the n-th record a handler slot handles blocks forever; 0 = never; {@code key:K} = the
 * record with key K blocks), and optionally the
 * number of handler slots and the input topic (default: the tasks topic). Prints
 * {@code SUBSCRIBED <agent>}
 * once its worker has joined and {@code HOLDING <key>} when it blocks, then runs until killed
 * (SIGKILL: nothing runs; SIGTERM: the worker group closes cleanly) or stdin closes.
 */
public final class ChildWorkerMain {

  private ChildWorkerMain() {
  }

  public static void main(String[] args) throws IOException {
    Endpoints endpoints = new Endpoints(args[0], args[1], Optional.empty(),
        TopicCatalog.withPrefix(args[2]));
    PrintStream out = System.out;
    java.util.function.Consumer<String> announce = key -> {
      out.println("HOLDING " + key);
      out.flush();
    };
    String hold = args[6];
    WorkerSpec<Task> spec = echoSpec(endpoints, args[4], agentId -> hold.startsWith("key:")
        ? new EchoHandler(args[3], Long.parseLong(args[5]), agentId, hold.substring(4), announce)
        : new EchoHandler(args[3], Long.parseLong(args[5]), agentId, Integer.parseInt(hold),
            announce));
    if (args.length > 7) {
      int slots = Integer.parseInt(args[7]);
      spec = spec.withTuning(s -> s.withConcurrency(slots));
    }
    if (args.length > 8) {
      spec = onTopic(spec, args[8]);
    }
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

  /** The same spec reading {@code inputTopic} instead. */
  public static WorkerSpec<Task> onTopic(WorkerSpec<Task> spec, String inputTopic) {
    return new WorkerSpec<>(spec.role(), spec.agentType(), spec.groupId(), inputTopic,
        spec.valueType(), spec.handlerFactory(), spec.consumerOverrides(),
        spec.producerOverrides(), spec.heartbeatInterval(), spec.tuning(), spec.supervised(),
        spec.instanceId());
  }

  public static WorkerSpec<Task> echoSpec(Endpoints endpoints, String groupId,
      Function<String, RecordHandler<Task>> handlers) {
    return WorkerSpec.of("echo", "echo", groupId, endpoints.topics().tasks().name(), Task.class,
            handlers)
        .withConsumerOverrides(Map.of(
            "session.timeout.ms", 6_000,
            "heartbeat.interval.ms", 1_000))
        .withProducerOverrides(Map.of("transaction.timeout.ms", 10_000));
  }
}
