package io.fractalrmo.registry.testing;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.platform.TopicProvisioner;
import io.fractalrmo.platform.kafka.EmbeddedKafka;
import io.fractalrmo.platform.postgres.EmbeddedPostgres;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real infrastructure for an integration test: a KRaft broker (child JVM), the schema
 * registry on it, and optionally PostgreSQL, on ephemeral ports under a temporary directory.
 * Start one per test class ({@code @BeforeAll}) — a broker costs about 5 s — and give each test
 * its own topics with {@link #newEndpoints()}. {@link #close()} stops everything and deletes the
 * directory.
 *
 * <p>{@link #shared()} returns one stack for the whole test JVM (stopped at JVM exit, its
 * {@code close()} does nothing), for modules with many integration test classes.
 */
public final class TestStack implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(TestStack.class);
  private static TestStack shared;
  private static TestStack sharedWithPostgres;

  private final Path dir;
  private final EmbeddedKafka kafka;
  private final SchemaRegistryServer registry;
  private final EmbeddedPostgres postgres;
  private final boolean isShared;
  private boolean closed;

  private TestStack(Path dir, EmbeddedKafka kafka, SchemaRegistryServer registry,
      EmbeddedPostgres postgres, boolean isShared) {
    this.dir = dir;
    this.kafka = kafka;
    this.registry = registry;
    this.postgres = postgres;
    this.isShared = isShared;
  }

  /** Real broker + registry, ephemeral ports, temporary directory. */
  public static TestStack start() {
    return start(false, false);
  }

  /** Real broker + registry + PostgreSQL. */
  public static TestStack startWithPostgres() {
    return start(true, false);
  }

  /** One broker + registry for the whole test JVM; close() on it is a no-op. */
  public static synchronized TestStack shared() {
    if (shared == null) {
      shared = start(false, true);
      Runtime.getRuntime().addShutdownHook(new Thread(shared::stop, "teststack-stop"));
    }
    return shared;
  }

  /** One broker + registry + PostgreSQL for the whole test JVM; close() on it is a no-op. */
  public static synchronized TestStack sharedWithPostgres() {
    if (sharedWithPostgres == null) {
      sharedWithPostgres = start(true, true);
      Runtime.getRuntime().addShutdownHook(new Thread(sharedWithPostgres::stop, "teststack-pg-stop"));
    }
    return sharedWithPostgres;
  }

  private static TestStack start(boolean withPostgres, boolean isShared) {
    Path dir;
    try {
      Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
      Files.createDirectories(tmp);
      dir = Files.createTempDirectory(tmp, "fractal-teststack-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    EmbeddedKafka kafka = null;
    SchemaRegistryServer registry = null;
    EmbeddedPostgres postgres = null;
    try {
      long t0 = System.nanoTime();
      kafka = EmbeddedKafka.start(dir.resolve("kafka"));
      registry = SchemaRegistryServer.start(kafka.bootstrapServers(), 0);
      if (withPostgres) {
        postgres = EmbeddedPostgres.start(dir.resolve("postgres"));
      }
      LOG.info("test stack up in {} ms: kafka {}, registry {}{}", (System.nanoTime() - t0) / 1_000_000,
          kafka.bootstrapServers(), registry.url(), postgres != null ? ", " + postgres.jdbcUrl() : "");
      return new TestStack(dir, kafka, registry, postgres, isShared);
    } catch (RuntimeException e) {
      closeQuietly(registry);
      closeQuietly(postgres);
      closeQuietly(kafka);
      deleteRecursively(dir);
      throw e;
    }
  }

  public String bootstrapServers() {
    return kafka.bootstrapServers();
  }

  public String schemaRegistryUrl() {
    return registry.url();
  }

  public Optional<String> jdbcUrl() {
    return Optional.ofNullable(postgres).map(EmbeddedPostgres::jdbcUrl);
  }

  /** Endpoints with a unique topic prefix ({@code t-<uuid>.}); every topic of the catalogue is created (RF 1). */
  public Endpoints newEndpoints() {
    TopicCatalog catalog = TopicCatalog.withPrefix("t-" + UUID.randomUUID() + ".");
    TopicProvisioner.provision(bootstrapServers(), catalog, (short) 1);
    return new Endpoints(bootstrapServers(), schemaRegistryUrl(), jdbcUrl(), catalog);
  }

  /** Serde configuration for this stack's registry ({@link FractalSerdes#config}). */
  public Map<String, Object> serdeConfig() {
    return FractalSerdes.config(schemaRegistryUrl());
  }

  /** The directory holding the broker's (and database's) data. */
  public Path dataDir() {
    return dir;
  }

  @Override
  public void close() {
    if (!isShared) {
      stop();
    }
  }

  private synchronized void stop() {
    if (closed) {
      return;
    }
    closed = true;
    closeQuietly(registry);
    closeQuietly(postgres);
    closeQuietly(kafka);
    deleteRecursively(dir);
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      LOG.warn("stopping {} failed", c, e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          LOG.debug("cannot delete {}", p, e);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      LOG.warn("cannot delete {}", dir, e);
    }
  }
}
