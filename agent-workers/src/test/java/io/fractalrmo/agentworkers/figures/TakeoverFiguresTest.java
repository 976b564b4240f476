package io.fractalrmo.agentworkers.figures;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.testing.ChildJvm;
import io.fractalrmo.agentworkers.testing.EchoHandler;
import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.agentworkers.worker.WorkerGroup;
import io.fractalrmo.agentworkers.worker.WorkerSpec;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The figure "how long a killed instance's partitions stay unserved": two echo workers of one
 * group with the product's client defaults (no test overrides), a steady trickle of input, and
 * one of them — a child JVM — SIGKILLed. Printed: from the kill to the first committed output
 * for an input of a partition the killed instance owned, (a) when nobody restarts it (the other
 * instance takes over) and (b) when a supervisor restarts it at once (a stand-by JVM, already
 * booted, starts its worker right after the kill: JVM start-up is not counted). Opt-in:
 * {@code -Dfractal.figures=true -Dtest=TakeoverFiguresTest}.
 */
@EnabledIfSystemProperty(named = "fractal.figures", matches = "true")
class TakeoverFiguresTest {

  private static final Logger LOG = LoggerFactory.getLogger(TakeoverFiguresTest.class);
  private static final TestStack stack = TestStack.shared();

  @RepeatedTest(3)
  void measureUnservedTimeAfterKill9WithoutRestart() throws Exception {
    measure(false);
  }

  @RepeatedTest(3)
  void measureUnservedTimeAfterKill9WithImmediateRestart() throws Exception {
    measure(true);
  }

  private void measure(boolean restart) throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    String output = endpoints.topics().prefix() + "test.echo";
    String group = endpoints.topics().prefix() + "fractal-takeover";
    String input = endpoints.topics().tasks().name();
    try (KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers())) {
      kafka.createTopic(output, 3);
      ChildJvm child = startChild(endpoints, output, group);
      ChildJvm restarted = null;
      AtomicBoolean producing = new AtomicBoolean(true);
      Map<String, Integer> partitionOf = new ConcurrentHashMap<>();
      Thread producer = new Thread(() -> produce(input, producing, partitionOf), "trickle");
      try (WorkerGroup survivor = WorkerGroup.start(endpoints, spec(endpoints, output, group), 1,
          stack.serdeConfig());
          Tail tail = new Tail(output)) {
        String childId = child.awaitLine("SUBSCRIBED", Duration.ofSeconds(60))
            .substring("SUBSCRIBED ".length());
        producer.start();
        // steady state: both instances have committed outputs
        Set<Integer> childPartitions = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
          for (Out o : tail.next(partitionOf)) {
            if (o.source().equals(childId)) {
              childPartitions.add(o.partition());
            }
          }
          if (childPartitions.size() >= 1 && tail.seen() > 100) {
            break;
          }
        }
        assertThat(childPartitions).as("the child served partitions").isNotEmpty();
        tail.next(partitionOf); // drain
        if (restart) {
          restarted = startChild(endpoints, output, group, true);
          restarted.awaitLine("STANDBY", Duration.ofSeconds(60));
        }
        long killedAt = System.nanoTime();
        child.kill();
        if (restart) {
          restarted.process().getOutputStream().write("go\n".getBytes());
          restarted.process().getOutputStream().flush();
        }
        long servedAt = -1;
        String servedBy = null;
        deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (servedAt < 0 && System.nanoTime() < deadline) {
          for (Out o : tail.next(partitionOf)) {
            // an input sent after the kill, on a partition the killed instance had
            if (childPartitions.contains(o.partition()) && o.producedAt() > killedAt) {
              servedAt = System.nanoTime();
              servedBy = o.source();
              break;
            }
          }
        }
        assertThat(servedAt).as("the killed instance's partitions were served again")
            .isPositive();
        LOG.info("FIGURE takeover ({}): partitions {} of the SIGKILLed instance unserved for {} ms"
                + " (served again by {})", restart ? "killed instance restarted at once"
                : "no restart, the other instance takes over", childPartitions,
            (servedAt - killedAt) / 1_000_000, servedBy);
      } finally {
        producing.set(false);
        producer.join(10_000);
        child.close();
        if (restarted != null) {
          restarted.close();
        }
      }
    }
  }

  private static WorkerSpec<Task> spec(Endpoints endpoints, String output, String group) {
    return ChildMain.spec(endpoints, output, group);
  }

  private static ChildJvm startChild(Endpoints endpoints, String output, String group)
      throws IOException {
    return startChild(endpoints, output, group, false);
  }

  private static ChildJvm startChild(Endpoints endpoints, String output, String group,
      boolean standby) throws IOException {
    return ChildJvm.start("takeover-child", ChildMain.class, List.of(
        endpoints.bootstrapServers(), endpoints.schemaRegistryUrl(), endpoints.topics().prefix(),
        output, group, standby ? "standby" : "now"));
  }

  /** Records the wall-clock (nanoTime) of production in the task's description. */
  private static void produce(String topic, AtomicBoolean producing,
      Map<String, Integer> partitionOf) {
    Serializer<Task> serializer = FractalSerdes.value(Task.class, stack.serdeConfig())
        .serializer();
    AtomicInteger n = new AtomicInteger();
    try (KafkaProducer<String, Task> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all", "linger.ms", 0),
        new StringSerializer(), serializer)) {
      while (producing.get()) {
        String id = "task-" + n.incrementAndGet();
        Task task = Mothers.aTask().setTaskId(id).setDescription(Long.toString(System.nanoTime()))
            .build();
        producer.send(new ProducerRecord<>(topic, id, task), (md, e) -> {
          if (md != null) {
            partitionOf.put(id, md.partition());
          }
        });
        try {
          Thread.sleep(20); // the input rate (~50/s), not synchronisation
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private record Out(String source, int partition, long producedAt) {}

  /** A read_committed tail of the output topic. */
  private static final class Tail implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final Deserializer<Task> tasks;
    private final String topic;
    private int seen;

    Tail(String topic) {
      this.topic = topic;
      this.consumer = new KafkaConsumer<>(KafkaClientConfigs.assignedReader(
          stack.bootstrapServers(), "tail-" + UUID.randomUUID()));
      List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      this.tasks = FractalSerdes.value(Task.class, stack.serdeConfig()).deserializer();
    }

    List<Out> next(Map<String, Integer> partitionOf) {
      List<Out> out = new java.util.ArrayList<>();
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
        Task t = tasks.deserialize(topic, r.value());
        Integer p = partitionOf.get(r.key());
        seen++;
        if (p != null) {
          out.add(new Out(t.getSource(), p, Long.parseLong(t.getDescription())));
        }
      }
      return out;
    }

    int seen() {
      return seen;
    }

    @Override
    public void close() {
      consumer.close();
    }
  }

  /**
   * One echo worker with the product defaults; prints SUBSCRIBED, runs until killed. (It must
   * not touch the test class's statics: they would start a test stack in the child.)
   */
  public static final class ChildMain {
    /** The product's defaults: no consumer/producer overrides. */
    static WorkerSpec<Task> spec(Endpoints endpoints, String output, String group) {
      return WorkerSpec.of("echo", "echo", group, endpoints.topics().tasks().name(), Task.class,
          agentId -> new EchoHandler(output, 0, agentId));
    }

    public static void main(String[] args) throws IOException {
      Endpoints endpoints = new Endpoints(args[0], args[1], Optional.empty(),
          TopicCatalog.withPrefix(args[2]));
      PrintStream out = System.out;
      if (args.length > 5 && args[5].equals("standby")) {
        out.println("STANDBY");
        out.flush();
        System.in.read(); // booted; start the worker when told (the supervisor's restart)
        while (System.in.available() > 0) {
          System.in.read();
        }
      }
      try (WorkerGroup group = WorkerGroup.start(endpoints, spec(endpoints, args[3], args[4]), 1,
          FractalSerdes.config(endpoints.schemaRegistryUrl()))) {
        group.closeOnShutdown();
        out.println("SUBSCRIBED " + group.workers().get(0).agentId());
        out.flush();
        while (System.in.read() >= 0) {
          // until killed
        }
      }
    }
  }
}
