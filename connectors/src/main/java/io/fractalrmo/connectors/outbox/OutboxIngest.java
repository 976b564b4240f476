package io.fractalrmo.connectors.outbox;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.Header;
import io.debezium.engine.format.Json;
import io.debezium.engine.format.KeyValueHeaderChangeEventFormat;
import io.debezium.engine.format.SimpleString;
import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.contracts.DlqHeaders;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.registry.serde.FractalSerdes;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams rows inserted into a PostgreSQL {@code outbox} table to {@code fractal.tasks}, with the
 * embedded Debezium engine (PostgreSQL connector, {@code pgoutput}, the outbox event router).
 *
 * <p>Guarantees: a committed outbox row becomes one Avro {@link Task} keyed by its task id; a
 * rolled-back row never appears; a payload that is not a valid task goes to {@code fractal.dlq}
 * with the reason. Offsets live in a file under the data dir, so a restart resumes after the
 * last confirmed event; the ids of produced events are kept in {@code outbox_ingested}, so an
 * event the engine delivers again (at-least-once CDC) is not produced again.
 */
public final class OutboxIngest implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(OutboxIngest.class);
  static final String STAGE = "outbox-ingest";
  private static final String ROUTED_PREFIX = "outbox.event.";
  private static final com.fasterxml.jackson.databind.ObjectMapper HEADER_JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /**
   * How the ingest runs.
   *
   * @param dataDir holds the engine's offset file
   * @param sourceJdbcUrl the database with the outbox table; empty = the endpoints' database
   * @param slotName the replication slot (fixed: a restart must find its slot again)
   * @param publicationName the publication (created filtered to {@code public.outbox})
   * @param pollInterval how often the engine hands over what it has read
   * @param heartbeatInterval how often the connector confirms its position even when the outbox
   *     is idle, so the slot does not pin WAL that other tables write
   * @param agentId names this instance in DLQ headers and logs
   * @param sendTimeout how long the broker may take to acknowledge a produced event before the
   *     send counts as failed (and the batch is delivered again)
   */
  public record Options(Path dataDir, Optional<String> sourceJdbcUrl, String slotName,
      String publicationName, Duration pollInterval, Duration heartbeatInterval, String agentId,
      Duration sendTimeout) {

    public Options {
      Objects.requireNonNull(dataDir, "dataDir");
      Objects.requireNonNull(sourceJdbcUrl, "sourceJdbcUrl");
      Objects.requireNonNull(slotName, "slotName");
      Objects.requireNonNull(publicationName, "publicationName");
      Objects.requireNonNull(pollInterval, "pollInterval");
      Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
      Objects.requireNonNull(agentId, "agentId");
      Objects.requireNonNull(sendTimeout, "sendTimeout");
      if (sendTimeout.toMillis() < 1_000) {
        throw new IllegalArgumentException("sendTimeout must be at least 1 s");
      }
    }

    public static Options defaults(Path dataDir) {
      return new Options(dataDir, Optional.empty(), "fractal_outbox", "fractal_outbox",
          Duration.ofMillis(50), Duration.ofSeconds(10),
          "outbox-" + UUID.randomUUID().toString().substring(0, 8), Duration.ofSeconds(30));
    }

    public Options withSlotName(String slot) {
      return new Options(dataDir, sourceJdbcUrl, slot, publicationName, pollInterval,
          heartbeatInterval, agentId, sendTimeout);
    }

    public Options withSourceJdbcUrl(String url) {
      return new Options(dataDir, Optional.of(url), slotName, publicationName, pollInterval,
          heartbeatInterval, agentId, sendTimeout);
    }

    public Options withSendTimeout(Duration timeout) {
      return new Options(dataDir, sourceJdbcUrl, slotName, publicationName, pollInterval,
          heartbeatInterval, agentId, timeout);
    }
  }

  private final Options options;
  private final TopicCatalog catalog;
  private final String ledgerJdbcUrl;
  private final Map<String, Object> producerConfig;
  private volatile KafkaProducer<byte[], byte[]> producer;
  private final Serializer<Task> taskSerializer;
  private final DebeziumEngine<ChangeEvent<String, String>> engine;
  private final ExecutorService executor = Executors.newSingleThreadExecutor(
      r -> new Thread(r, "fractal-outbox-engine"));
  private final CountDownLatch started = new CountDownLatch(1);
  private final AtomicLong produced = new AtomicLong();
  private final AtomicLong duplicatesSkipped = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private final AtomicLong sendFailures = new AtomicLong();
  private final Clock clock = Clock.systemUTC();
  private volatile boolean closing;
  private volatile Throwable failure;
  private Connection ledger;

  private OutboxIngest(Endpoints endpoints, Options options) throws IOException {
    this.options = options;
    this.catalog = endpoints.topics();
    this.ledgerJdbcUrl = endpoints.requireJdbcUrl();
    String sourceUrl = options.sourceJdbcUrl().orElse(ledgerJdbcUrl);
    Files.createDirectories(options.dataDir());

    long send = options.sendTimeout().toMillis();
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, endpoints.bootstrapServers());
    p.put(ProducerConfig.CLIENT_ID_CONFIG, options.agentId());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(30_000, send / 2));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) send);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, send);
    this.producerConfig = Map.copyOf(p);
    this.producer = newProducer();
    this.taskSerializer = FractalSerdes.value(Task.class,
        FractalSerdes.config(endpoints.schemaRegistryUrl())).serializer();

    this.engine = DebeziumEngine.create(KeyValueHeaderChangeEventFormat.of(
            SimpleString.class, SimpleString.class, Json.class))
        .using(engineProperties(sourceUrl, options))
        .using(new DebeziumEngine.ConnectorCallback() {
          @Override
          public void taskStarted() {
            started.countDown();
          }
        })
        .using((success, message, error) -> {
          if (!success && !closing) {
            failure = error != null ? error : new IllegalStateException(message);
            LOG.error("outbox engine stopped: {}", message, error);
          }
          started.countDown();
        })
        .notifying(this::handleBatch)
        .build();
  }

  /**
   * Starts the engine and returns once its replication slot streams (inserts committed from then
   * on are delivered). {@link #close()} stops it; the slot stays, so nothing committed while the
   * ingest is down is lost.
   */
  public static OutboxIngest start(Endpoints endpoints, Options options) {
    // outbox_ingested (the dedupe ledger) lives in the fractal database.
    Migrations.apply(endpoints.requireJdbcUrl());
    OutboxIngest ingest;
    try {
      ingest = new OutboxIngest(endpoints, options);
    } catch (IOException e) {
      throw new IllegalStateException("cannot prepare the outbox data dir " + options.dataDir(), e);
    }
    ingest.executor.execute(ingest.engine);
    try {
      if (!ingest.started.await(60, TimeUnit.SECONDS)) {
        ingest.close();
        throw new IllegalStateException("the outbox engine did not start within 60 s");
      }
      if (ingest.failure != null) {
        ingest.close();
        throw new IllegalStateException("the outbox engine failed to start", ingest.failure);
      }
      ingest.awaitActiveSlot(options.sourceJdbcUrl().orElse(ingest.ledgerJdbcUrl),
          Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ingest.close();
      throw new IllegalStateException("interrupted while starting the outbox ingest", e);
    }
    LOG.info("outbox ingest {} streaming from slot {}", options.agentId(), options.slotName());
    return ingest;
  }

  /** Tasks produced since start. */
  /** Kafka's own metrics of the ingest's producer (for metrics binding). */
  public Map<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric>
      clientMetrics() {
    KafkaProducer<byte[], byte[]> p = producer;
    return p == null ? Map.of() : p.metrics();
  }

  public long produced() {
    return produced.get();
  }

  /** Events delivered again and recognised by their outbox id, since start. */
  public long duplicatesSkipped() {
    return duplicatesSkipped.get();
  }

  /** Sends the broker did not acknowledge (each retried until it is) since start. */
  public long sendFailures() {
    return sendFailures.get();
  }

  /** Invalid payloads sent to the DLQ since start. */
  public long deadLettered() {
    return deadLettered.get();
  }

  /** The engine's configuration (see INFRA-NOTES: Debezium outbox, embedded). */
  static Properties engineProperties(String sourceJdbcUrl, Options options) {
    JdbcTarget db = JdbcTarget.parse(sourceJdbcUrl);
    Properties props = new Properties();
    props.setProperty("name", "fractal-outbox-" + options.slotName());
    props.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
    props.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
    props.setProperty("offset.storage.file.filename",
        options.dataDir().resolve("outbox-offsets-" + options.slotName() + ".dat").toString());
    // Commit offsets after every handled batch: a restart then re-reads nothing confirmed.
    props.setProperty("offset.flush.interval.ms", "0");
    props.setProperty("database.hostname", db.host());
    props.setProperty("database.port", String.valueOf(db.port()));
    props.setProperty("database.user", db.user());
    props.setProperty("database.password", db.password());
    props.setProperty("database.dbname", db.database());
    props.setProperty("topic.prefix", "fractal-outbox");
    props.setProperty("plugin.name", "pgoutput");
    props.setProperty("slot.name", options.slotName());
    props.setProperty("slot.drop.on.stop", "false");
    props.setProperty("publication.name", options.publicationName());
    props.setProperty("publication.autocreate.mode", "filtered");
    props.setProperty("table.include.list", "public.outbox");
    props.setProperty("snapshot.mode", "no_data");
    props.setProperty("tombstones.on.delete", "false");
    props.setProperty("poll.interval.ms", String.valueOf(options.pollInterval().toMillis()));
    props.setProperty("heartbeat.interval.ms",
        String.valueOf(options.heartbeatInterval().toMillis()));
    props.setProperty("transforms", "outbox");
    props.setProperty("transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter");
    props.setProperty("transforms.outbox.table.field.event.id", "id");
    props.setProperty("transforms.outbox.table.field.event.key", "aggregateid");
    props.setProperty("transforms.outbox.table.field.event.payload", "payload");
    props.setProperty("transforms.outbox.table.fields.additional.placement",
        "type:header:eventType");
    props.setProperty("transforms.outbox.route.by.field", "aggregatetype");
    props.setProperty("transforms.outbox.route.topic.replacement",
        ROUTED_PREFIX + "${routedByValue}");
    return props;
  }

  private void handleBatch(List<ChangeEvent<String, String>> events,
      DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer)
      throws InterruptedException {
    List<Outbound> outbound = new ArrayList<>();
    for (ChangeEvent<String, String> event : events) {
      if (event.destination() != null && event.destination().startsWith(ROUTED_PREFIX)) {
        outbound.add(new Outbound(event, header(event, "id")));
      }
      // anything else (heartbeats) only moves the position on
    }
    if (!outbound.isEmpty()) {
      deliver(outbound);
    }
    for (ChangeEvent<String, String> event : events) {
      committer.markProcessed(event);
    }
    committer.markBatchFinished();
  }

  private record Outbound(ChangeEvent<String, String> event, String outboxId) {
  }

  /** Produces the batch and records its outbox ids; retries until it succeeds or the ingest stops. */
  private void deliver(List<Outbound> batch) throws InterruptedException {
    Duration backoff = Duration.ofMillis(200);
    while (true) {
      try {
        deliverOnce(batch);
        return;
      } catch (SQLException | RuntimeException e) {
        if (closing) {
          throw new InterruptedException("outbox ingest closing with an undelivered batch: " + e);
        }
        LOG.warn("outbox batch of {} failed, retrying in {} ms: {}", batch.size(),
            backoff.toMillis(), e.toString());
        closeLedger();
        Thread.sleep(backoff.toMillis());
        backoff = backoff.multipliedBy(2).compareTo(Duration.ofSeconds(5)) > 0
            ? Duration.ofSeconds(5) : backoff.multipliedBy(2);
      }
    }
  }

  /**
   * Produces the batch's events, waits for the broker's acknowledgement of each, and records in
   * {@code outbox_ingested} exactly those acknowledged. If any send failed it throws (after
   * recording the others), so the retry produces only what is still missing.
   */
  private void deliverOnce(List<Outbound> batch) throws SQLException {
    Connection c = ledger();
    Set<String> seen = alreadyProduced(c, batch);
    List<Pending> pending = new ArrayList<>();
    Set<String> inThisBatch = new HashSet<>();
    int dup = 0;
    Instant now = clock.instant();
    for (Outbound o : batch) {
      ChangeEvent<String, String> event = o.event();
      String key = event.key();
      if (o.outboxId() != null && (seen.contains(o.outboxId())
          || !inThisBatch.add(o.outboxId()))) {
        dup++;
        continue;
      }
      Task task;
      try {
        task = TaskJson.parse(event.value(), key, "outbox", now);
      } catch (InvalidTaskException e) {
        pending.add(new Pending(o.outboxId(), key == null ? "" : key, false,
            send(deadLetter(event, o.outboxId(), e))));
        continue;
      }
      String topic = catalog.tasks().name();
      byte[] value = taskSerializer.serialize(topic, task);
      RecordHeaders headers = new RecordHeaders();
      if (o.outboxId() != null) {
        headers.add("fractal.outbox.id", o.outboxId().getBytes(StandardCharsets.UTF_8));
      }
      // the task's trace starts here
      io.fractalrmo.runtime.trace.Tracing.process().start("submit", options.agentId(),
          (org.apache.kafka.common.header.Headers) null).writeTo(headers);
      pending.add(new Pending(o.outboxId(), task.getTaskId(), true,
          send(new ProducerRecord<>(topic, null,
              task.getTaskId().getBytes(StandardCharsets.UTF_8), value, headers))));
    }
    producer.flush();
    Map<String, String> acknowledged = new HashMap<>();
    int tasks = 0;
    int dlq = 0;
    Exception firstFailure = null;
    int failed = 0;
    for (Pending p : pending) {
      try {
        p.ack().get();
      } catch (ExecutionException e) {
        failed++;
        firstFailure = firstFailure == null ? asException(e.getCause()) : firstFailure;
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for acknowledgements", e);
      }
      if (p.outboxId() != null) {
        acknowledged.put(p.outboxId(), p.taskId());
      }
      if (p.task()) {
        tasks++;
      } else {
        dlq++;
      }
    }
    // Recorded after the broker acknowledged: a crash in between re-delivers (at least once);
    // downstream is idempotent by task id. A send that failed is not recorded: it is retried.
    recordProduced(c, acknowledged);
    produced.addAndGet(tasks);
    deadLettered.addAndGet(dlq);
    duplicatesSkipped.addAndGet(dup);
    if (failed > 0) {
      sendFailures.addAndGet(failed);
      replaceProducer();
      throw new UndeliveredException(failed + " of " + pending.size()
          + " outbox event(s) not acknowledged by the broker: " + firstFailure, firstFailure);
    }
  }

  /** One produced event waiting for its acknowledgement. */
  private record Pending(String outboxId, String taskId, boolean task,
      Future<RecordMetadata> ack) {
  }

  /** Some sends of a batch were not acknowledged; the batch is delivered again. */
  static final class UndeliveredException extends RuntimeException {
    UndeliveredException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record) {
    try {
      return producer.send(record);
    } catch (KafkaException e) {
      // send() itself refuses (e.g. a producer closed or fenced): a failed future, like the rest
      CompletableFuture<RecordMetadata> failed = new CompletableFuture<>();
      failed.completeExceptionally(e);
      return failed;
    }
  }

  private static Exception asException(Throwable t) {
    return t instanceof Exception e ? e : new RuntimeException(t);
  }

  private KafkaProducer<byte[], byte[]> newProducer() {
    return new KafkaProducer<>(producerConfig, new ByteArraySerializer(),
        new ByteArraySerializer());
  }

  /** After a failed send the producer may be left in an error state: start afresh. */
  private void replaceProducer() {
    try {
      producer.close(Duration.ZERO);
    } catch (RuntimeException e) {
      LOG.debug("closing the failed producer: {}", e.toString());
    }
    producer = newProducer();
  }

  private ProducerRecord<byte[], byte[]> deadLetter(ChangeEvent<String, String> event,
      String outboxId, InvalidTaskException e) {
    LOG.warn("outbox event {} (aggregate {}) is not a valid task, sent to the DLQ: {}", outboxId,
        event.key(), e.getMessage());
    RecordHeaders headers = new RecordHeaders();
    headers.add(DlqHeaders.TOPIC, utf8("outbox"));
    headers.add(DlqHeaders.PARTITION, utf8("-1"));
    headers.add(DlqHeaders.OFFSET, utf8(outboxId == null ? "-1" : outboxId));
    headers.add(DlqHeaders.EXCEPTION_CLASS, utf8(e.getClass().getName()));
    headers.add(DlqHeaders.EXCEPTION_MESSAGE, utf8(e.getMessage()));
    headers.add(DlqHeaders.STAGE, utf8(STAGE));
    headers.add(DlqHeaders.AGENT_ID, utf8(options.agentId()));
    if (outboxId != null) {
      headers.add("fractal.outbox.id", utf8(outboxId));
    }
    return new ProducerRecord<>(catalog.dlq().name(), null,
        event.key() == null ? null : utf8(event.key()),
        event.value() == null ? null : utf8(event.value()), headers);
  }

  private static Set<String> alreadyProduced(Connection c, List<Outbound> batch)
      throws SQLException {
    List<UUID> ids = new ArrayList<>();
    for (Outbound o : batch) {
      UUID id = uuid(o.outboxId());
      if (id != null) {
        ids.add(id);
      }
    }
    Set<String> seen = new HashSet<>();
    if (ids.isEmpty()) {
      return seen;
    }
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT outbox_id FROM outbox_ingested WHERE outbox_id = ANY(?)")) {
      ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          seen.add(rs.getString(1));
        }
      }
    }
    c.commit();
    return seen;
  }

  private static void recordProduced(Connection c, Map<String, String> produced)
      throws SQLException {
    if (produced.isEmpty()) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement("""
        INSERT INTO outbox_ingested (outbox_id, task_id) VALUES (?, ?)
        ON CONFLICT (outbox_id) DO NOTHING""")) {
      for (Map.Entry<String, String> e : produced.entrySet()) {
        UUID id = uuid(e.getKey());
        if (id == null) {
          continue;
        }
        ps.setObject(1, id);
        ps.setString(2, e.getValue());
        ps.addBatch();
      }
      ps.executeBatch();
    }
    c.commit();
  }

  private static UUID uuid(String s) {
    if (s == null) {
      return null;
    }
    try {
      return UUID.fromString(s.replace("\"", "").trim());
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static String header(ChangeEvent<String, String> event, String name) {
    List<Header<Object>> headers = event.headers();
    if (headers == null) {
      return null;
    }
    for (Header<Object> h : headers) {
      if (name.equals(h.getKey()) && h.getValue() != null) {
        String v = jsonHeaderText(String.valueOf(h.getValue()));
        UUID id = uuid(v);
        return id != null ? id.toString() : v;
      }
    }
    return null;
  }

  /** Header values come through Connect's JsonConverter: a JSON string, or schema + payload. */
  static String jsonHeaderText(String json) {
    try {
      com.fasterxml.jackson.databind.JsonNode node = HEADER_JSON.readTree(json);
      if (node != null && node.isObject() && node.has("payload")) {
        node = node.get("payload");
      }
      return node == null || node.isNull() ? null : node.asText();
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return json;
    }
  }

  private void awaitActiveSlot(String jdbcUrl, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (failure != null) {
        close();
        throw new IllegalStateException("the outbox engine failed to start", failure);
      }
      try (Connection c = DriverManager.getConnection(jdbcUrl);
           PreparedStatement ps = c.prepareStatement(
               "SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
        ps.setString(1, options.slotName());
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next() && rs.getBoolean(1)) {
            return;
          }
        }
      } catch (SQLException e) {
        LOG.debug("waiting for slot {}: {}", options.slotName(), e.toString());
      }
      Thread.sleep(50);
    }
    LOG.warn("replication slot {} not active after {}; continuing", options.slotName(), timeout);
  }

  private Connection ledger() throws SQLException {
    if (ledger == null || ledger.isClosed()) {
      ledger = DriverManager.getConnection(ledgerJdbcUrl);
      ledger.setAutoCommit(false);
    }
    return ledger;
  }

  private void closeLedger() {
    if (ledger != null) {
      try {
        ledger.close();
      } catch (SQLException e) {
        LOG.debug("closing the ledger connection: {}", e.toString());
      }
      ledger = null;
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    closing = true;
    try {
      engine.close();
    } catch (IOException e) {
      LOG.warn("closing the outbox engine: {}", e.toString());
    }
    executor.shutdown();
    try {
      if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(Duration.ofSeconds(5));
    taskSerializer.close();
    closeLedger();
  }

  /** Host, port, database and credentials of a {@code jdbc:postgresql://} URL. */
  record JdbcTarget(String host, int port, String database, String user, String password) {

    static JdbcTarget parse(String jdbcUrl) {
      if (!jdbcUrl.startsWith("jdbc:postgresql://")) {
        throw new IllegalArgumentException("not a jdbc:postgresql:// URL: " + jdbcUrl);
      }
      URI uri = URI.create(jdbcUrl.substring("jdbc:".length()));
      Map<String, String> query = new HashMap<>();
      if (uri.getRawQuery() != null) {
        for (String pair : uri.getRawQuery().split("&")) {
          int eq = pair.indexOf('=');
          if (eq > 0) {
            query.put(pair.substring(0, eq),
                URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
          }
        }
      }
      String db = uri.getPath() == null || uri.getPath().length() <= 1 ? "postgres"
          : uri.getPath().substring(1);
      String user = query.getOrDefault("user", System.getenv().getOrDefault("PGUSER", "postgres"));
      String password = query.getOrDefault("password",
          System.getenv().getOrDefault("PGPASSWORD", ""));
      return new JdbcTarget(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), db, user,
          password);
    }
  }
}
