package io.fractalrmo.app.chaos;

import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.platform.TopicProvisioner;
import io.fractalrmo.platform.kafka.KafkaCluster;
import io.fractalrmo.platform.postgres.EmbeddedPostgres;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The infrastructure of a chaos run, in this JVM so that the run can hurt it: a KRaft cluster of
 * one or more nodes ({@link KafkaCluster}: a node can be killed and restarted), PostgreSQL (can
 * be frozen and thawed) and the schema registry; the catalogue's topics created with the
 * cluster's replication factor, every value schema registered, the database migrated.
 */
final class ChaosStack implements AutoCloseable {

  private final KafkaCluster kafka;
  private final EmbeddedPostgres postgres;
  private final SchemaRegistryServer registry;
  private final Endpoints endpoints;

  private ChaosStack(KafkaCluster kafka, EmbeddedPostgres postgres,
      SchemaRegistryServer registry, Endpoints endpoints) {
    this.kafka = kafka;
    this.postgres = postgres;
    this.registry = registry;
    this.endpoints = endpoints;
  }

  static ChaosStack start(Path dir, int brokers, TopicCatalog catalog) throws Exception {
    KafkaCluster kafka = null;
    EmbeddedPostgres postgres = null;
    SchemaRegistryServer registry = null;
    try {
      kafka = KafkaCluster.start(dir.resolve("kafka"), brokers);
      postgres = EmbeddedPostgres.start(dir.resolve("postgres"));
      Migrations.apply(postgres.jdbcUrl());
      TopicProvisioner.provision(kafka.bootstrapServers(), catalog, (short) -1);
      registry = SchemaRegistryServer.start(kafka.bootstrapServers(), 0);
      try (SchemaRegistryClient client = SchemaRegistryClient.of(registry.url())) {
        for (TopicSpec spec : catalog.all()) {
          if (spec.valueSchema().isPresent()) {
            client.register(spec.valueSubject(), spec.valueSchema().get());
          }
        }
      }
      Endpoints endpoints = new Endpoints(kafka.bootstrapServers(), registry.url(),
          Optional.of(postgres.jdbcUrl()), catalog);
      return new ChaosStack(kafka, postgres, registry, endpoints);
    } catch (Exception | Error e) {
      closeQuietly(registry);
      closeQuietly(postgres);
      closeQuietly(kafka);
      throw e;
    }
  }

  Endpoints endpoints() {
    return endpoints;
  }

  KafkaCluster kafka() {
    return kafka;
  }

  EmbeddedPostgres postgres() {
    return postgres;
  }

  String jdbcUrl() {
    return postgres.jdbcUrl();
  }

  @Override
  public void close() {
    closeQuietly(registry);
    postgres.resume(); // never leave a frozen server to the shutdown
    closeQuietly(postgres);
    closeQuietly(kafka);
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      // keep closing the rest
    }
  }
}
