package io.fractalrmo.agentworkers.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.testing.ChildWorkerMain;
import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The figure: records/s through one exactly-once worker with a trivial (echo) handler, from
 * first poll to the last offset committed, for the default {@code max.poll.records} (sized for
 * handlers whose commit is bounded by the commit interval) and a large one. Opt-in:
 * {@code -Dfractal.figures=true}.
 */
@EnabledIfSystemProperty(named = "fractal.figures", matches = "true")
class WorkerThroughputTest {

  private static final Logger LOG = LoggerFactory.getLogger(WorkerThroughputTest.class);
  private static final int RECORDS = 20_000;

  @ParameterizedTest(name = "max.poll.records={0}")
  @ValueSource(ints = {200, 500, 100, 200, 500}) // the first two warm the JVM and broker up
  void measureTrivialHandlerThroughput(int maxPollRecords) throws Exception {
    TestStack stack = TestStack.shared();
    Endpoints endpoints = stack.newEndpoints();
    String output = endpoints.topics().prefix() + "test.echo";
    String group = endpoints.topics().prefix() + "fractal-bench";
    try (KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers())) {
      kafka.createTopic(output, 3);
      Serializer<Task> serializer = FractalSerdes.value(Task.class, stack.serdeConfig())
          .serializer();
      try (KafkaProducer<String, Task> producer = new KafkaProducer<>(
          Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all",
              "linger.ms", 10),
          new StringSerializer(), serializer)) {
        List<Future<?>> sent = new ArrayList<>();
        for (int i = 0; i < RECORDS; i++) {
          sent.add(producer.send(new ProducerRecord<>(endpoints.topics().tasks().name(),
              "task-" + i, Mothers.aTask().setTaskId("task-" + i).build())));
        }
        producer.flush();
        for (Future<?> f : sent) {
          f.get();
        }
      }
      try (WorkerGroup worker = WorkerGroup.start(endpoints,
          ChildWorkerMain.echoSpec(endpoints, output, group, 0)
              .withConsumerOverrides(Map.of("max.poll.records", maxPollRecords)),
          1, stack.serdeConfig())) {
        TransactionalWorker<?> w = worker.workers().get(0);
        // Timed from the first commit (group join and first fetch excluded) to the last.
        Eventually.await(Duration.ofMinutes(1), () -> w.committedRecords() > 0,
            () -> "first commit");
        long t0 = System.nanoTime();
        long c0 = w.committedRecords();
        Eventually.await(Duration.ofMinutes(5), () -> w.committedRecords() == RECORDS,
            () -> "all committed");
        double seconds = (System.nanoTime() - t0) / 1e9;
        LOG.info("FIGURE worker throughput, trivial handler, EOS, max.poll.records={}: {} records"
            + " in {} s = {} records/s", maxPollRecords, RECORDS - c0,
            String.format("%.2f", seconds), String.format("%.0f", (RECORDS - c0) / seconds));
      }
      assertThat(kafka.readCommitted(output)).hasSize(RECORDS);
    }
  }
}
