package io.fractalrmo.streams.bench;

import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.StreamsOptions;
import io.fractalrmo.streams.StreamsRole;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.patterns.PatternTopology;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records/s of the pattern extractor, not a unit test. {@code ttd [n]}: the pattern topology
 * alone in the TopologyTestDriver (serdes, RocksDB, no network). {@code broker [n]}: the whole
 * streams app (exactly_once_v2, commit 100 ms) on a real broker, n error events produced first,
 * timed from start until the app's committed offset on {@code fractal.errors} reaches n.
 * Events spread over 20 pattern keys, 200 events per second of event time.
 */
public final class PatternExtractorBenchmark {

  private static final Logger LOG = LoggerFactory.getLogger(PatternExtractorBenchmark.class);
  private static final Instant T0 = Instant.parse("2026-11-25T12:00:00Z");

  private PatternExtractorBenchmark() {
  }

  static ErrorEvent event(int i) {
    return anErrorEvent().setErrorId("e" + i).setTaskId("task-" + i)
        .setActionId("task-" + i + ":plan:1").setCategory(ErrorCategory.DEPENDENCY)
        .setFixKey("mod" + (i % 20)).setMessage("name 'x" + (i % 7) + "' is not defined")
        .setOccurredAt(T0.plusMillis(i * 5L)).build();
  }

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "ttd";
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    if (mode.equals("ttd")) {
      ttd(n);
    } else {
      broker(n, threads);
    }
  }

  static void ttd(int n) throws Exception {
    try (TopologyFixture fixture = new TopologyFixture()) {
      fixture.start((topics, serdes) -> PatternTopology.build(topics, StreamsSettings.demo(),
          serdes), T0);
      TestInputTopic<String, ErrorEvent> in = fixture.input(TopicCatalog::errors, ErrorEvent.class);
      var out = fixture.output(TopicCatalog::errorPatterns, ErrorPattern.class);
      int warm = Math.min(10_000, n / 5);
      for (int i = 0; i < warm; i++) {
        in.pipeInput("task-" + i, event(i), T0.plusMillis(i * 5L));
      }
      out.readValuesToList();
      long start = System.nanoTime();
      for (int i = warm; i < warm + n; i++) {
        in.pipeInput("task-" + i, event(i), T0.plusMillis(i * 5L));
      }
      double s = (System.nanoTime() - start) / 1e9;
      LOG.info("TTD pattern extractor: {} events in {} s = {} records/s; {} patterns emitted",
          n, String.format("%.2f", s), String.format("%.0f", n / s), out.getQueueSize());
    }
  }

  static void broker(int n, int threads) throws Exception {
    try (TestStack stack = TestStack.start()) {
      Endpoints endpoints = stack.newEndpoints();
      TopicCatalog topics = endpoints.topics();
      Properties pp = new Properties();
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
      pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
      Serializer<ErrorEvent> ser = FractalSerdes.value(ErrorEvent.class, stack.serdeConfig())
          .serializer();
      long t0 = System.nanoTime();
      try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(pp, new StringSerializer(),
          new ByteArraySerializer())) {
        for (int i = 0; i < n; i++) {
          ErrorEvent e = event(i);
          p.send(new ProducerRecord<>(topics.errors().name(), null, e.getOccurredAt()
              .toEpochMilli(), e.getTaskId(), ser.serialize(topics.errors().name(), e)));
        }
        p.flush();
      }
      LOG.info("produced {} events in {} ms", n, (System.nanoTime() - t0) / 1_000_000);
      Path state = Files.createTempDirectory("pattern-bench-state");
      long start = System.nanoTime();
      StreamsOptions defaults = StreamsOptions.defaults(state);
      StreamsOptions options = new StreamsOptions(defaults.applicationId(), state, threads,
          defaults.commitInterval(), defaults.maxThreadReplacements(), defaults.replicationFactor(),
          defaults.startTimeout(), defaults.closeTimeout(), defaults.settings(), Map.of());
      try (StreamsRole role = StreamsRole.start(endpoints, options);
          Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
              endpoints.bootstrapServers()))) {
        long running = System.nanoTime();
        String group = topics.prefix() + "fractal-streams";
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        long committed = 0;
        while (committed < n && System.nanoTime() < deadline) {
          Map<TopicPartition, OffsetAndMetadata> offsets =
              admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
          committed = offsets.entrySet().stream()
              .filter(e -> e.getKey().topic().equals(topics.errors().name()) && e.getValue() != null)
              .mapToLong(e -> e.getValue().offset()).sum();
          Thread.sleep(100);  // polling an external counter, not synchronisation
        }
        double total = (System.nanoTime() - start) / 1e9;
        double processing = (System.nanoTime() - running) / 1e9;
        LOG.info("broker, whole streams app (EOS v2, {} thread(s)): {} of {} events committed in {} s "
            + "after RUNNING ({} s with start-up) = {} records/s", threads, committed, n,
            String.format("%.2f", processing), String.format("%.2f", total),
            String.format("%.0f", committed / processing));
      }
    }
  }
}
