package io.fractalrmo.app.up;

import io.fractalrmo.contracts.TopicCatalog;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link LocalStack} starts: ports of the embedded pieces (0 = free), or external
 * infrastructure to use instead of each, and whether to start the pipeline's roles.
 *
 * @param dataDir where the embedded broker, database, lock and {@code endpoints.json} live
 * @param bootstrapServers an external Kafka cluster instead of the embedded broker
 * @param schemaRegistryUrl an external registry instead of the embedded one
 * @param jdbcUrl an external PostgreSQL instead of the embedded one
 * @param replicationFactor for the topics created; -1 = the cluster's default
 * @param brokers nodes of the embedded Kafka cluster (1: one broker; 3: replication factor 3,
 *     min.insync.replicas 2)
 */
public record StackSettings(
    Path dataDir,
    int kafkaPort,
    int registryPort,
    int postgresPort,
    Optional<String> bootstrapServers,
    Optional<String> schemaRegistryUrl,
    Optional<String> jdbcUrl,
    TopicCatalog catalog,
    short replicationFactor,
    boolean startRoles,
    int brokers) {

  public StackSettings {
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Objects.requireNonNull(schemaRegistryUrl, "schemaRegistryUrl");
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    Objects.requireNonNull(catalog, "catalog");
    if (brokers < 1 || brokers > 9) {
      throw new IllegalArgumentException("--brokers must be 1 to 9, was " + brokers);
    }
  }

  /** Everything embedded on free ports, default topic names, roles started. */
  public static StackSettings defaults(Path dataDir) {
    return new StackSettings(dataDir, 0, 0, 0, Optional.empty(), Optional.empty(), Optional.empty(),
        TopicCatalog.defaults(), (short) 1, true, 1);
  }

  public StackSettings withPorts(int kafka, int registry, int postgres) {
    return new StackSettings(dataDir, kafka, registry, postgres, bootstrapServers, schemaRegistryUrl,
        jdbcUrl, catalog, replicationFactor, startRoles, brokers);
  }

  public StackSettings withExternal(Optional<String> kafka, Optional<String> registry, Optional<String> jdbc) {
    short rf = kafka.isPresent() && replicationFactor == 1 ? (short) -1 : replicationFactor;
    return new StackSettings(dataDir, kafkaPort, registryPort, postgresPort, kafka, registry, jdbc,
        catalog, rf, startRoles, brokers);
  }

  public StackSettings withCatalog(TopicCatalog topics) {
    return new StackSettings(dataDir, kafkaPort, registryPort, postgresPort, bootstrapServers,
        schemaRegistryUrl, jdbcUrl, topics, replicationFactor, startRoles, brokers);
  }

  public StackSettings withRoles(boolean start) {
    return new StackSettings(dataDir, kafkaPort, registryPort, postgresPort, bootstrapServers,
        schemaRegistryUrl, jdbcUrl, catalog, replicationFactor, start, brokers);
  }

  /** An embedded cluster of {@code n} brokers; topics then take the cluster's replication factor. */
  public StackSettings withBrokers(int n) {
    short rf = n > 1 && replicationFactor == 1 ? (short) -1 : replicationFactor;
    return new StackSettings(dataDir, kafkaPort, registryPort, postgresPort, bootstrapServers,
        schemaRegistryUrl, jdbcUrl, catalog, rf, startRoles, n);
  }
}
