package io.fractalrmo.agentworkers.roles;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.runtime.settings.Settings;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the role launchers share: group names, serde settings, per-instance resources. */
final class RoleSupport {

  private static final Logger LOG = LoggerFactory.getLogger(RoleSupport.class);

  private RoleSupport() {
  }

  /** {@code <catalog prefix>fractal-<suffix>}: tenants (and tests) on one cluster never share. */
  static String groupId(TopicCatalog catalog, String suffix) {
    return catalog.prefix() + "fractal-" + suffix;
  }

  /**
   * FractalSerdes defaults for the endpoints' registry, plus the role settings that are registry
   * client properties ({@code basic.auth.*}, {@code schema.registry.*}).
   */
  static Map<String, Object> serdeConfig(Endpoints endpoints, Settings settings) {
    Map<String, Object> config = FractalSerdes.config(endpoints.schemaRegistryUrl());
    config.putAll(settings.passthrough());
    return config;
  }

  /** Sandboxed interpreters kept warm: the setting, else one per handler slot plus one. */
  static int warmPool(Settings settings, RoleOptions options) {
    return settings.get(RoleSettings.WARM_POOL, Integer.class)
        .orElse(options.instances() * settings.getInt(RoleSettings.CONCURRENCY) + 1);
  }

  /**
   * Resources made per worker instance (helper processes), closed together after the workers
   * stopped. Thread-safe: handler factories add to it while workers start.
   */
  static final class InstanceResources implements AutoCloseable {
    private final List<AutoCloseable> resources = Collections.synchronizedList(new ArrayList<>());

    <T extends AutoCloseable> T add(T resource) {
      resources.add(resource);
      return resource;
    }

    @Override
    public void close() {
      List<AutoCloseable> copy;
      synchronized (resources) {
        copy = new ArrayList<>(resources);
        resources.clear();
      }
      for (AutoCloseable resource : copy) {
        try {
          resource.close();
        } catch (Exception e) {
          LOG.warn("closing {}: {}", resource, e.toString());
        }
      }
    }
  }
}
