package io.fractalrmo.app.observe;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;

/**
 * The HTTP port of {@code fractal run <role>}: {@code /metrics} of that role (and the JVM) and
 * {@code /health} from its real state.
 */
public final class RoleObservability implements AutoCloseable {

  private final PrometheusMeterRegistry registry;
  private final RoleMetrics metrics;
  private final HttpEndpoint http;

  private RoleObservability(PrometheusMeterRegistry registry, RoleMetrics metrics, HttpEndpoint http) {
    this.registry = registry;
    this.metrics = metrics;
    this.http = http;
  }

  public static RoleObservability start(String role, Object running, String host, int port) {
    PrometheusMeterRegistry registry = ProcessMetrics.registry();
    RoleMetrics metrics = new RoleMetrics(registry);
    RoleProbe probe = RoleProbe.of(role, running);
    metrics.bindRole(role, running, probe);
    try {
      HttpEndpoint http = HttpEndpoint.on(host, port).metrics(registry)
          .health(new Health(List.of(probe))).start();
      return new RoleObservability(registry, metrics, http);
    } catch (RuntimeException e) {
      metrics.close();
      registry.close();
      throw e;
    }
  }

  public String url() {
    return http.url();
  }

  @Override
  public void close() {
    http.close();
    metrics.close();
    registry.close();
  }
}
