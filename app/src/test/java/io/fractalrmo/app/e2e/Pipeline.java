package io.fractalrmo.app.e2e;

import io.fractalrmo.agentworkers.roles.AnalyzerRole;
import io.fractalrmo.agentworkers.roles.ExecutorRole;
import io.fractalrmo.agentworkers.roles.RoleOptions;
import io.fractalrmo.agentworkers.roles.ValidatorRole;
import io.fractalrmo.app.demo.DemoWatcher;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.StreamsOptions;
import io.fractalrmo.streams.StreamsRole;
import io.fractalrmo.streams.StreamsSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The learning pipeline on a real broker and registry, on topics of its own: the five analyzers,
 * the executor, the validator and the streams app (merge, status, patterns, protocol updater),
 * each started by its module's launcher as {@code fractal up} does. Tests watch it with
 * {@link #watch} and feed it with {@link #submit}; {@link #close} stops all of it.
 */
final class Pipeline implements AutoCloseable {

  private final Endpoints endpoints;
  private final Map<String, Object> serdeConfig;
  private final Deque<AutoCloseable> running = new ArrayDeque<>();
  private KafkaProducer<String, Task> producer;

  private Pipeline(Endpoints endpoints, Map<String, Object> serdeConfig) {
    this.endpoints = endpoints;
    this.serdeConfig = serdeConfig;
  }

  static Pipeline start(TestStack stack, Path stateDir, StreamsSettings settings) {
    return start(stack, stateDir, settings, Map.of(), endpoints -> { });
  }

  /**
   * With role settings ({@code --set} style, e.g. {@code limits.*}: the streams app's plan gets
   * the same limits) and a hook that runs on the fresh topics before any role starts (e.g. to
   * write a protocol rule the executors must see from their first record).
   */
  static Pipeline start(TestStack stack, Path stateDir, StreamsSettings settings,
      Map<String, String> roleSettings, Consumer<Endpoints> beforeRoles) {
    Endpoints endpoints = stack.newEndpoints();
    Pipeline p = new Pipeline(endpoints, FractalSerdes.config(stack.schemaRegistryUrl()));
    try {
      beforeRoles.accept(endpoints);
      RoleOptions options = RoleOptions.defaults().withSettings(roleSettings);
      p.running.push(StreamsRole.start(endpoints, StreamsOptions.defaults(stateDir)
          .withSettings(settings.withLimits(InputLimits.fromSettings(roleSettings)))));
      p.running.push(AnalyzerRole.start(endpoints, options));
      p.running.push(ValidatorRole.start(endpoints, options));
      p.running.push(ExecutorRole.start(endpoints, options.withInstances(2)));
      return p;
    } catch (RuntimeException | Error e) {
      p.close();
      throw e;
    }
  }

  Endpoints endpoints() {
    return endpoints;
  }

  Map<String, Object> serdeConfig() {
    return serdeConfig;
  }

  /** A started watcher of this pipeline's topics, printing its events with {@code label}. */
  DemoWatcher watch(String label) {
    DemoWatcher watcher = new DemoWatcher(endpoints, serdeConfig,
        line -> System.out.println("[" + label + "] " + line));
    running.push(watcher);
    watcher.start();
    return watcher;
  }

  /** Sends {@code task} to the tasks topic as an upstream producer would, waiting for the ack. */
  synchronized void submit(String id, Task task) throws InterruptedException, ExecutionException {
    if (producer == null) {
      Map<String, Object> p = new HashMap<>();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      producer = new KafkaProducer<>(p, new StringSerializer(),
          FractalSerdes.value(Task.class, serdeConfig).serializer());
      KafkaProducer<String, Task> made = producer;
      running.push(() -> made.close(Duration.ofSeconds(5)));
    }
    producer.send(new ProducerRecord<>(endpoints.topics().tasks().name(), id, task)).get();
  }

  @Override
  public void close() {
    while (!running.isEmpty()) {
      try {
        running.pop().close();
      } catch (Exception e) {
        // keep stopping the rest
      }
    }
  }
}
