package io.fractalrmo.contracts;

import java.util.Objects;
import java.util.Optional;

/**
 * Where a role finds the infrastructure: the Kafka bootstrap servers, the schema registry, the
 * PostgreSQL database (roles that need it), and the topic names (a catalogue, possibly prefixed).
 * The same value serves the embedded stack of {@code fractal up} and external clusters.
 */
public record Endpoints(
    String bootstrapServers,
    String schemaRegistryUrl,
    Optional<String> jdbcUrl,
    TopicCatalog topics) {

  public Endpoints {
    Objects.requireNonNull(bootstrapServers, "bootstrapServers");
    Objects.requireNonNull(schemaRegistryUrl, "schemaRegistryUrl");
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    Objects.requireNonNull(topics, "topics");
  }

  public Endpoints withJdbcUrl(String url) {
    return new Endpoints(bootstrapServers, schemaRegistryUrl, Optional.ofNullable(url), topics);
  }

  public Endpoints withTopics(TopicCatalog catalog) {
    return new Endpoints(bootstrapServers, schemaRegistryUrl, jdbcUrl, catalog);
  }

  /** The JDBC URL, or a clear error for a role that cannot run without the database. */
  public String requireJdbcUrl() {
    return jdbcUrl.orElseThrow(() -> new IllegalStateException(
        "this role needs PostgreSQL: pass --jdbc-url or set FRACTAL_JDBC_URL"));
  }
}
