package io.fractalrmo.app.chaos;

import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows {@code fractal.task-status} (read_committed) while the chaos run goes on and notes
 * when each task's final state was first seen here, for the canaries' recovery times and for the
 * wait at the end. Survives broker outages: a failed poll is retried. The verdict at the end is
 * not taken from here but from a fresh read of every topic.
 */
final class StatusFollower implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(StatusFollower.class);
  static final Set<TaskState> FINAL = Set.of(TaskState.SUCCEEDED, TaskState.FAILED,
      TaskState.REJECTED);

  private final KafkaConsumer<String, byte[]> consumer;
  private final Deserializer<TaskStatus> deserializer;
  private final Map<String, Long> finalSeenAt = new ConcurrentHashMap<>();
  private final Map<String, TaskState> finalState = new ConcurrentHashMap<>();
  private final Thread thread;
  private volatile boolean running = true;

  StatusFollower(Endpoints endpoints, Map<String, Object> serdeConfig) {
    this.consumer = new KafkaConsumer<>(KafkaClientConfigs.assignedReader(
        endpoints.bootstrapServers(), "fractal-chaos-follower"), new StringDeserializer(),
        new ByteArrayDeserializer());
    this.deserializer = FractalSerdes.value(TaskStatus.class, serdeConfig).deserializer();
    String topic = endpoints.topics().taskStatus().name();
    List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(60))
        .stream().map(p -> new TopicPartition(topic, p.partition())).toList();
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    this.thread = new Thread(this::loop, "fractal-chaos-follower");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  private void loop() {
    while (running) {
      try {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.value() == null) {
            continue;
          }
          TaskStatus s = deserializer.deserialize(r.topic(), r.headers(), r.value());
          if (FINAL.contains(s.getState())) {
            finalSeenAt.putIfAbsent(r.key(), System.currentTimeMillis());
            finalState.putIfAbsent(r.key(), s.getState());
          }
        }
      } catch (WakeupException e) {
        return;
      } catch (KafkaException e) {
        LOG.debug("follower poll failed, retrying: {}", e.toString());
        try {
          Thread.sleep(500); // backoff of a retried poll
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  /** When this follower first saw a final state of the task (epoch ms), or -1. */
  long finalSeenAt(String taskId) {
    return finalSeenAt.getOrDefault(taskId, -1L);
  }

  TaskState finalState(String taskId) {
    return finalState.get(taskId);
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    consumer.close(Duration.ofSeconds(5));
    deserializer.close();
  }
}
