package io.fractalrmo.app.e2e;

import io.fractalrmo.agentworkers.roles.AnalyzerRole;
import io.fractalrmo.agentworkers.roles.ExecutorRole;
import io.fractalrmo.agentworkers.roles.RoleOptions;
import io.fractalrmo.agentworkers.roles.ValidatorRole;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.StreamsOptions;
import io.fractalrmo.streams.StreamsRole;
import io.fractalrmo.streams.StreamsSettings;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The learning pipeline on a real broker and registry, on topics of its own: the five analyzers,
 * the executor, the validator and the streams app (merge, status, patterns, protocol updater),
 * each started by its module's launcher as {@code fractal up} does.
 */
final class Pipeline implements AutoCloseable {

  private final Endpoints endpoints;
  private final Map<String, Object> serdeConfig;
  private final Deque<AutoCloseable> running = new ArrayDeque<>();

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
