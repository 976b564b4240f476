package io.fractalrmo.agentworkers.testing;

import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.agentworkers.worker.RecordHandler;
import io.fractalrmo.contracts.Task;
import java.util.List;
import java.util.function.Consumer;

/**
 * A deterministic handler for the plumbing tests: echoes each task to an output topic under the
 * same key, with {@code source} set to the handling agent's id, after an optional delay per
 * record (a stand-in for a sandbox run). A task whose id starts with {@code violates} breaks the
 * contract. With {@code holdAt > 0} the handler announces and then blocks on its holdAt-th record
 * (a worker stuck mid-batch, for the kill test), or on the record with a given key.
 */
public final class EchoHandler implements RecordHandler<Task> {

  private final String outputTopic;
  private final long delayMillis;
  private final String agentId;
  private final int holdAt;
  private final String holdKey;
  private final Consumer<String> onHold;
  private int handled;

  public EchoHandler(String outputTopic, long delayMillis, String agentId) {
    this(outputTopic, delayMillis, agentId, 0, key -> { });
  }

  public EchoHandler(String outputTopic, long delayMillis, String agentId, int holdAt,
      Consumer<String> onHold) {
    this(outputTopic, delayMillis, agentId, holdAt, null, onHold);
  }

  /** Blocks on the record with key {@code holdKey} (whichever slot gets it). */
  public EchoHandler(String outputTopic, long delayMillis, String agentId, String holdKey,
      Consumer<String> onHold) {
    this(outputTopic, delayMillis, agentId, 0, holdKey, onHold);
  }

  private EchoHandler(String outputTopic, long delayMillis, String agentId, int holdAt,
      String holdKey, Consumer<String> onHold) {
    this.outputTopic = outputTopic;
    this.delayMillis = delayMillis;
    this.agentId = agentId;
    this.holdAt = holdAt;
    this.holdKey = holdKey;
    this.onHold = onHold;
  }

  @Override
  public List<Outgoing> handle(String key, Task task) throws Exception {
    if (task.getTaskId().toString().startsWith("violates")) {
      throw new IllegalArgumentException("task " + task.getTaskId() + " breaks the contract");
    }
    if (++handled == holdAt || key.equals(holdKey)) {
      onHold.accept(key);
      Thread.sleep(Long.MAX_VALUE); // stuck mid-batch until the JVM is killed
    }
    if (delayMillis > 0) {
      Thread.sleep(delayMillis); // simulated work, not synchronisation
    }
    return List.of(new Outgoing(outputTopic, key,
        Task.newBuilder(task).setSource(agentId).build()));
  }
}
