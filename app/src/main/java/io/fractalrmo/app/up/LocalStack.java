package io.fractalrmo.app.up;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.roles.Roles;
import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicSpec;
import io.fractalrmo.platform.DataDirLock;
import io.fractalrmo.platform.PlatformException;
import io.fractalrmo.platform.Ports;
import io.fractalrmo.platform.TopicProvisioner;
import io.fractalrmo.platform.kafka.EmbeddedKafka;
import io.fractalrmo.platform.kafka.HangingTransactions;
import io.fractalrmo.platform.kafka.KafkaCluster;
import io.fractalrmo.platform.postgres.EmbeddedPostgres;
import io.fractalrmo.registry.client.SchemaRegistryClient;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything {@code fractal up} runs on one machine: a KRaft broker, PostgreSQL and the schema
 * registry (each embedded unless an external one is given), the catalogue's topics, every value
 * schema under {@code <topic>-value}, the database schema, and the pipeline's roles.
 *
 * <p>{@link #start} holds the data directory's lock for the stack's lifetime and writes
 * {@code DIR/endpoints.json} only once all of that is ready; {@link #close()} stops everything in
 * reverse order (roles first, broker last) and removes the file. A failed start stops what it had
 * started.
 */
public final class LocalStack implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LocalStack.class);
  /** How long start-up keeps trying a registration the registry is too slow to answer. */
  private static final io.fractalrmo.runtime.RetryPolicy REGISTER_RETRY =
      io.fractalrmo.runtime.RetryPolicy.defaults()
          .withBackoff(Duration.ofMillis(200), Duration.ofSeconds(2))
          .withTimeout(Duration.ofSeconds(90));

  /** How long start-up looks for hanging transactions before it gives up looking. */
  private static final Duration HANGING_TIMEOUT = Duration.ofSeconds(30);

  private final Path dataDir;
  private final Deque<Named> running = new ArrayDeque<>();
  private final Map<String, Long> pids = new LinkedHashMap<>();
  private Endpoints endpoints;
  private Duration startup;
  private boolean closed;
  private volatile boolean cancelled;
  private boolean startFinished;
  private java.util.concurrent.ExecutorService roleStarter;

  private static final String LOCK = "data dir lock";

  private static final String ROLE = "role ";

  private record Named(String name, AutoCloseable resource) {
  }

  private LocalStack(Path dataDir) {
    this.dataDir = dataDir;
  }

  public static LocalStack start(StackSettings settings) {
    return start(settings, new CountDownLatch(1));
  }

  /**
   * Starts the stack; when {@code stop} is released while it starts (SIGTERM, Ctrl-C), the start
   * ends at once: whatever waits is interrupted, what was started is stopped in reverse order,
   * and {@link StartCancelled} is thrown.
   */
  public static LocalStack start(StackSettings settings, CountDownLatch stop) {
    Instant started = Instant.now();
    Path dir = settings.dataDir().toAbsolutePath().normalize();
    DataDirLock lock = DataDirLock.acquire(dir);
    LocalStack stack = new LocalStack(dir);
    stack.running.push(new Named(LOCK, lock));
    Thread starting = Thread.currentThread();
    Thread canceller = new Thread(() -> {
      try {
        stop.await();
      } catch (InterruptedException e) {
        return; // the start ended: nothing to cancel
      }
      stack.cancelStart(starting);
    }, "fractal-start-cancel");
    canceller.setDaemon(true);
    canceller.start();
    try {
      stack.startAll(settings);
      synchronized (stack) {
        if (stack.cancelled) {
          throw new StartCancelled();
        }
        stack.startFinished = true;
      }
      stack.startup = Duration.between(started, Instant.now());
      stack.writeEndpointsFile();
      LOG.info("fractal is up in {} ms: {}", stack.startup.toMillis(), stack.endpoints);
      return stack;
    } catch (RuntimeException | Error e) {
      boolean cancelled = stack.cancelled;
      Thread.interrupted(); // stop in order, not as if each stop were interrupted too
      stack.close();
      if (cancelled) {
        LOG.info("start stopped on request; everything it had started is stopped");
        throw e instanceof StartCancelled c ? c : new StartCancelled(e);
      }
      throw e;
    } finally {
      canceller.interrupt();
    }
  }

  /** {@link #start} ended because a stop was requested while it ran. */
  public static final class StartCancelled extends PlatformException {
    StartCancelled() {
      super("the start was stopped on request");
    }

    StartCancelled(Throwable cause) {
      super("the start was stopped on request (it was at: " + cause.getMessage() + ")", cause);
    }
  }

  /**
   * A stop requested while starting: interrupts the start's waits (the starting thread and the
   * roles' starters); the starting thread then stops what was started.
   */
  private void cancelStart(Thread starting) {
    java.util.concurrent.ExecutorService roleStarter;
    synchronized (this) {
      if (startFinished || closed) {
        return;
      }
      cancelled = true;
      roleStarter = this.roleStarter;
    }
    LOG.info("stop requested while starting: stopping the start and everything it had started");
    starting.interrupt();
    if (roleStarter != null) {
      roleStarter.shutdownNow();
    }
  }

  private void startAll(StackSettings settings) {
    deleteEndpointsFile();
    Properties state = loadState();
    if (settings.startRoles()) {
      warmUpStreams(settings);
    }

    // Check pinned ports before starting anything, so a taken port fails fast.
    int registryPort = 0;
    if (settings.schemaRegistryUrl().isEmpty()) {
      registryPort = settings.registryPort() != 0
          ? Ports.resolve(settings.registryPort(), "the schema registry", "--registry-port")
          : previousIfFree(state.getProperty("registry.port"));
    }
    if (settings.bootstrapServers().isEmpty() && settings.kafkaPort() != 0) {
      Ports.resolve(settings.kafkaPort(), "Kafka", "--kafka-port");
    }
    if (settings.jdbcUrl().isEmpty() && settings.postgresPort() != 0) {
      Ports.resolve(settings.postgresPort(), "PostgreSQL", "--postgres-port");
    }

    // PostgreSQL starts and is migrated while the broker starts (they are independent).
    CompletableFuture<EmbeddedPostgres> postgres = settings.jdbcUrl().isPresent()
        ? CompletableFuture.completedFuture(null)
        : CompletableFuture.supplyAsync(() -> EmbeddedPostgres.start(dataDir.resolve("postgres"), settings.postgresPort()));
    CompletableFuture<String> database = postgres.thenApply(pg -> {
      String url = pg == null ? settings.jdbcUrl().get() : pg.jdbcUrl();
      migrate(url);
      return url;
    });
    String bootstrap;
    try {
      if (settings.bootstrapServers().isPresent()) {
        bootstrap = settings.bootstrapServers().get();
      } else if (settings.brokers() > 1) {
        if (settings.kafkaPort() != 0) {
          throw new PlatformException("--kafka-port names one broker's port; with --brokers "
              + settings.brokers() + " the ports are chosen (and kept in "
              + dataDir.resolve("kafka-cluster") + ")");
        }
        KafkaCluster cluster = KafkaCluster.start(dataDir.resolve("kafka-cluster"),
            settings.brokers());
        push("Kafka cluster (" + settings.brokers() + " brokers)", cluster);
        cluster.pids().forEach((node, pid) -> pids.put("kafka-" + node, pid));
        bootstrap = cluster.bootstrapServers();
      } else {
        EmbeddedKafka kafka = EmbeddedKafka.start(dataDir.resolve("kafka"), settings.kafkaPort());
        push("Kafka broker", kafka);
        pids.put("kafka", kafka.pid());
        bootstrap = kafka.bootstrapServers();
      }
    } finally {
      EmbeddedPostgres pg = joinQuietly(postgres);
      if (pg != null) {
        push("PostgreSQL", pg);
        pg.pid().ifPresent(pid -> pids.put("postgres", pid));
        pids.put("postgres-watchdog", pg.watchdogPid());
      }
      joinQuietly(database);
    }
    String jdbc = join(database);

    // Topics are created while the registry starts.
    long phase = System.nanoTime();
    final String kafka = bootstrap;
    CompletableFuture<Void> topics = CompletableFuture.runAsync(
        () -> TopicProvisioner.provision(kafka, settings.catalog(), settings.replicationFactor()));
    // Transactions a kill -9 of the whole stack left open on partitions that existed before
    // (new topics have none), so this runs beside the topics step; it must end before any role
    // starts, or Streams' read_committed restoration waits on them forever. Our own broker is
    // repaired; someone else's is only reported.
    final boolean ownBroker = settings.bootstrapServers().isEmpty();
    CompletableFuture<Void> hanging = CompletableFuture.runAsync(() -> {
      if (ownBroker) {
        HangingTransactions.repair(kafka, HANGING_TIMEOUT);
      } else {
        HangingTransactions.report(kafka, HANGING_TIMEOUT);
      }
    });
    String registryUrl;
    if (settings.schemaRegistryUrl().isPresent()) {
      registryUrl = settings.schemaRegistryUrl().get();
    } else {
      SchemaRegistryServer registry;
      try {
        final String kafkaServers = bootstrap;
        registry = startRegistry(port -> SchemaRegistryServer.start(kafkaServers,
            SchemaRegistryServer.Options.defaults().withPort(port)), registryPort,
            settings.registryPort() == 0);
      } catch (RuntimeException e) {
        joinQuietly(topics);
        joinQuietly(hanging);
        throw new PlatformException("the schema registry did not start: " + e.getMessage(), e);
      }
      push("schema registry", registry);
      registryUrl = registry.url();
      state.setProperty("registry.port", Integer.toString(registry.port()));
      storeState(state);
    }
    endpoints = new Endpoints(bootstrap, registryUrl, Optional.of(jdbc), settings.catalog());

    await(topics);
    LOG.info("{} topics ready in {} ms", settings.catalog().all().size(), (System.nanoTime() - phase) / 1_000_000);
    await(hanging);

    // The roles start while the value schemas are registered (their serializers would register
    // the same schemas; the registry keeps one id per schema either way).
    final String registry = registryUrl;
    CompletableFuture<Void> schemas = CompletableFuture.runAsync(() -> {
      long begin = System.nanoTime();
      registerSchemas(registry, settings);
      LOG.info("value schemas registered in {} ms", (System.nanoTime() - begin) / 1_000_000);
    });
    try {
      if (settings.startRoles()) {
        startRoles();
      }
    } catch (StartCancelled e) {
      throw e;
    } catch (RuntimeException e) {
      awaitQuietly(schemas);
      throw e;
    }
    await(schemas);
  }

  /**
   * While the broker starts (the longest wait of a start), builds the streams topology once on a
   * thread of its own: the streams role, the last to be ready, then finds its classes loaded.
   */
  private static void warmUpStreams(StackSettings settings) {
    Thread warm = new Thread(() -> {
      long begin = System.nanoTime();
      try {
        io.fractalrmo.streams.StreamsRole.warmUp(settings.catalog(),
            io.fractalrmo.streams.StreamsSettings.demo());
        LOG.info("streams topology warmed up in {} ms", (System.nanoTime() - begin) / 1_000_000);
      } catch (RuntimeException e) {
        LOG.debug("warming the streams topology up failed (the role builds it anyway)", e);
      }
    }, "fractal-warm-up");
    warm.setDaemon(true);
    warm.setPriority(Thread.MIN_PRIORITY);
    warm.start();
  }

  /**
   * Starts every role at once (each mostly waits for its consumer group or Streams rebalance),
   * then records them in the catalogue's order so that they stop in reverse order.
   */
  private void startRoles() {
    List<Roles.Role> roles = Roles.all();
    java.util.concurrent.ExecutorService starter = java.util.concurrent.Executors.newFixedThreadPool(roles.size(), r -> {
      Thread t = new Thread(r, "fractal-role-start");
      t.setDaemon(true);
      return t;
    });
    synchronized (this) {
      roleStarter = starter;
      if (cancelled) {
        starter.shutdownNow();
        throw new StartCancelled();
      }
    }
    try {
      List<CompletableFuture<AutoCloseable>> started = new java.util.ArrayList<>();
      for (Roles.Role role : roles) {
        started.add(CompletableFuture.supplyAsync(() -> {
          long begin = System.nanoTime();
          try {
            AutoCloseable running = role.starter().start(endpoints, new Roles.Settings(
                Roles.defaultInstances(role.name()), Optional.empty(), Map.of(), dataDir));
            LOG.info("role {} started in {} ms", role.name(), (System.nanoTime() - begin) / 1_000_000);
            return running;
          } catch (Exception e) {
            throw new PlatformException("role " + role.name() + " did not start: " + e.getMessage(), e);
          }
        }, starter));
      }
      RuntimeException failure = null;
      for (int i = 0; i < roles.size(); i++) {
        try {
          push(ROLE + roles.get(i).name(), await(started.get(i)));
        } catch (StartCancelled e) {
          // the roles still starting are stopped as soon as their start returns
          for (int j = i; j < roles.size(); j++) {
            String name = ROLE + roles.get(j).name();
            started.get(j).thenAccept(role -> closeLogged(new Named(name, role)));
          }
          throw e;
        } catch (RuntimeException e) {
          failure = failure == null ? e : failure;
        }
      }
      if (failure != null) {
        throw failure;
      }
    } finally {
      starter.shutdown();
    }
  }

  private static void migrate(String jdbc) {
    try {
      Migrations.apply(jdbc);
    } catch (RuntimeException e) {
      throw new PlatformException("cannot bring the database at " + jdbc + " to this release's schema: " + e.getMessage(), e);
    }
  }

  private void registerSchemas(String registryUrl, StackSettings settings) {
    try (SchemaRegistryClient client = SchemaRegistryClient.of(registryUrl)) {
      for (TopicSpec spec : settings.catalog().all()) {
        if (spec.valueSchema().isPresent()) {
          registerPatiently(client, spec.valueSubject(), spec.valueSchema().get());
        }
      }
    } catch (Exception e) {
      throw new PlatformException("cannot register the value schemas at " + registryUrl + ": " + e.getMessage(), e);
    }
  }

  /**
   * Registers one schema, trying again while the registry is slow to answer (a registration waits
   * until its record is read back from the schema log, which on a loaded machine can outlast one
   * request's timeout). Registering the same schema again is idempotent; a refusal (4xx) is not
   * retried.
   */
  private static void registerPatiently(SchemaRegistryClient client, String subject,
      org.apache.avro.Schema schema) throws Exception {
    io.fractalrmo.runtime.RetryPolicy.Retry retry = REGISTER_RETRY.start();
    while (true) {
      try {
        client.register(subject, schema);
        return;
      } catch (IOException e) {
        Optional<Duration> delay = retry.nextDelay();
        if (delay.isEmpty()) {
          throw e;
        }
        LOG.warn("registering {} (attempt {}) failed, trying again: {}", subject, retry.attempts(),
            e.getMessage());
        Thread.sleep(delay.get().toMillis());
      }
    }
  }


  /** The endpoints of the running stack (topics of the settings' catalogue). */
  public Endpoints endpoints() {
    return endpoints;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** {@code DIR/endpoints.json}, present while the stack is up. */
  public Path endpointsFile() {
    return dataDir.resolve(EndpointOptions.ENDPOINTS_FILE);
  }

  /** Time from {@link #start} to ready. */
  public Duration startup() {
    return startup;
  }

  /**
   * Pids of the processes the stack started ("kafka" or "kafka-1".."kafka-N", "postgres",
   * "postgres-watchdog").
   */
  public Map<String, Long> childPids() {
    return Map.copyOf(pids);
  }

  /**
   * The first running role that failed (a fatal error stopped it), with its cause: the stack
   * then stops and {@code fractal up} exits non-zero, so that a supervisor restarts it.
   */
  public synchronized Optional<String> failedRole() {
    for (Named n : running) {
      if (n.resource() instanceof io.fractalrmo.runtime.Supervised s
          && s.health().health() == io.fractalrmo.contracts.AgentHealth.FAILED) {
        return Optional.of(n.name() + " failed: " + (s.failure() != null ? s.failure()
            : s.health().reason()));
      }
    }
    return Optional.empty();
  }

  /** The started roles, by name, in start order (what each role's starter returned). */
  public Map<String, AutoCloseable> roles() {
    Map<String, AutoCloseable> roles = new LinkedHashMap<>();
    List<Named> inOrder = new java.util.ArrayList<>(running);
    java.util.Collections.reverse(inOrder);
    for (Named n : inOrder) {
      if (n.name().startsWith(ROLE)) {
        roles.put(n.name().substring(ROLE.length()), n.resource());
      }
    }
    return roles;
  }

  /** Names of what is running, in start order. */
  public List<String> components() {
    List<String> names = new java.util.ArrayList<>(running.stream().map(Named::name)
        .filter(n -> !n.equals(LOCK)).toList());
    java.util.Collections.reverse(names);
    return names;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    deleteEndpointsFile();
    // The roles are independent of each other (each finishes or abandons its own work, commits
    // nothing it did not finish): they stop at once, in parallel, so that SIGTERM ends the stack
    // within seconds; what they all use (registry, database, broker) stops after them, in order.
    List<Named> roles = new java.util.ArrayList<>();
    while (!running.isEmpty() && running.peek().name().startsWith(ROLE)) {
      roles.add(running.pop());
    }
    List<Thread> stopping = new java.util.ArrayList<>();
    for (Named role : roles) {
      Thread t = new Thread(() -> closeLogged(role), "fractal-stop-" + role.name().substring(ROLE.length()));
      t.setDaemon(true);
      t.start();
      stopping.add(t);
    }
    for (Thread t : stopping) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        LOG.warn("interrupted while the roles stop; stopping the rest at once");
        break;
      }
    }
    while (!running.isEmpty()) {
      closeLogged(running.pop());
    }
  }

  private static void closeLogged(Named next) {
    long begin = System.nanoTime();
    try {
      next.resource().close();
      LOG.info("{} stopped in {} ms", next.name(), (System.nanoTime() - begin) / 1_000_000);
    } catch (Exception e) {
      LOG.warn("stopping {}: {}", next.name(), e.toString());
    }
  }

  private void push(String name, AutoCloseable resource) {
    synchronized (this) {
      if (!closed && !cancelled) {
        running.push(new Named(name, resource));
        return;
      }
    }
    closeLogged(new Named(name, resource)); // its start returned after a stop was requested
    throw new StartCancelled();
  }

  private void writeEndpointsFile() {
    ObjectNode json = new ObjectMapper().createObjectNode();
    json.put("bootstrap_servers", endpoints.bootstrapServers());
    json.put("schema_registry_url", endpoints.schemaRegistryUrl());
    json.put("jdbc_url", endpoints.jdbcUrl().orElse(null));
    json.put("topic_prefix", endpoints.topics().prefix());
    json.put("pid", ProcessHandle.current().pid());
    Path file = endpointsFile();
    Path tmp = dataDir.resolve(EndpointOptions.ENDPOINTS_FILE + ".tmp");
    try {
      Files.writeString(tmp, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n",
          StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new PlatformException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  private void deleteEndpointsFile() {
    try {
      Files.deleteIfExists(endpointsFile());
    } catch (IOException e) {
      LOG.warn("cannot delete {}: {}", endpointsFile(), e.toString());
    }
  }

  private Properties loadState() {
    Properties properties = new Properties();
    Path file = dataDir.resolve("fractal-up.properties");
    if (Files.isRegularFile(file)) {
      try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        properties.load(reader);
      } catch (IOException e) {
        LOG.warn("ignoring unreadable {}: {}", file, e.toString());
      }
    }
    return properties;
  }

  private void storeState(Properties state) {
    Path file = dataDir.resolve("fractal-up.properties");
    try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      state.store(writer, "ports of the last fractal up; reused when free");
    } catch (IOException e) {
      LOG.warn("cannot write {}: {}", file, e.toString());
    }
  }

  /** The last start's registry port when it is still free, else 0 (the system picks one at bind). */
  private static int previousIfFree(String previous) {
    if (previous != null && previous.matches("\\d+") && Ports.isFree(Integer.parseInt(previous))) {
      return Integer.parseInt(previous);
    }
    return 0;
  }

  /**
   * Starts the registry on {@code port}; when that port was only the last start's (not pinned by
   * the user) and something took it between the check and the bind — another stack starting on
   * this machine — it listens on a port the system picks instead.
   */
  static SchemaRegistryServer startRegistry(
      java.util.function.IntFunction<SchemaRegistryServer> onPort, int port, boolean mayMove) {
    try {
      return onPort.apply(port);
    } catch (RuntimeException e) {
      if (!mayMove || port == 0 || !(e.getCause() instanceof java.net.BindException)) {
        throw e;
      }
      LOG.info("the schema registry's last port {} was taken meanwhile; listening on another", port);
      return onPort.apply(0);
    }
  }

  private static <T> T join(CompletableFuture<T> future) {
    try {
      return future.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw e;
    }
  }

  /**
   * {@link #join}, but a stop requested meanwhile ({@link #cancelStart} interrupts the waiting
   * thread) ends the wait with {@link StartCancelled}.
   */
  private <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartCancelled(e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (cancelled) {
        throw new StartCancelled(e.getCause());
      }
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new CompletionException(e.getCause());
    }
  }

  private <T> void awaitQuietly(CompletableFuture<T> future) {
    try {
      await(future);
    } catch (RuntimeException e) {
      // the caller reports its own failure
    }
  }

  private static <T> T joinQuietly(CompletableFuture<T> future) {
    try {
      return future.join();
    } catch (CompletionException e) {
      return null;
    }
  }
}
