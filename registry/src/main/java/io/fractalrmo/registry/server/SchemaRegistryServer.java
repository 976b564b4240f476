package io.fractalrmo.registry.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import io.fractalrmo.registry.schema.Schemas;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded schema registry speaking Confluent Schema Registry's REST API for Avro, JSON Schema
 * and Protobuf (references, metadata and rule sets, modes including IMPORT), so that Confluent's
 * serdes in any language, Kafka UI and Kafka Connect converters work against it unchanged; any
 * Confluent-compatible registry can replace it.
 *
 * <p>Schemas live in a compacted single-partition topic ({@code _schemas}), created when missing
 * and read from the start at startup, so ids survive restarts; several instances on one cluster
 * agree on ids because writes go through one transactional producer id (see
 * {@link KafkaSchemaLog}). Compatibility is checked per type: Avro's {@code SchemaCompatibility},
 * Confluent's rules for JSON Schema and Protobuf (see {@code io.fractalrmo.registry.schema}).
 */
public final class SchemaRegistryServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryServer.class);
  public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  public static final String DEFAULT_TOPIC = "_schemas";
  private static final ObjectMapper JSON = new ObjectMapper();

  static {
    // The JDK server writes headers and body separately; with Nagle on, each small answer waits
    // for the client's delayed ACK (~40 ms). Read once per JVM, so set it before the first server.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  /**
   * Settings: where to listen ({@code host} 127.0.0.1 and port 0 = a free port by default), the
   * schema topic, HTTP worker threads, how long a store operation may take, and extra Kafka
   * client properties (security settings of the cluster, for example).
   */
  public record Options(String host, int port, String topic, int threads, Duration storeTimeout,
      Map<String, Object> kafkaClientProperties) {

    public Options {
      kafkaClientProperties = Map.copyOf(kafkaClientProperties);
    }

    public static Options defaults() {
      return new Options("127.0.0.1", 0, DEFAULT_TOPIC, 8, Duration.ofSeconds(30), Map.of());
    }

    public Options withHost(String h) {
      return new Options(h, port, topic, threads, storeTimeout, kafkaClientProperties);
    }

    public Options withPort(int p) {
      return new Options(host, p, topic, threads, storeTimeout, kafkaClientProperties);
    }

    public Options withTopic(String t) {
      return new Options(host, port, t, threads, storeTimeout, kafkaClientProperties);
    }

    public Options withThreads(int n) {
      return new Options(host, port, topic, n, storeTimeout, kafkaClientProperties);
    }

    public Options withStoreTimeout(Duration d) {
      return new Options(host, port, topic, threads, d, kafkaClientProperties);
    }

    public Options withKafkaClientProperties(Map<String, Object> props) {
      return new Options(host, port, topic, threads, storeTimeout, props);
    }
  }

  private final HttpServer http;
  private final ExecutorService executor;
  private final SchemaLog log;
  private final SchemaStore store;

  private SchemaRegistryServer(HttpServer http, ExecutorService executor, SchemaLog log, SchemaStore store) {
    this.http = http;
    this.executor = executor;
    this.log = log;
    this.store = store;
  }

  /** Starts on 127.0.0.1:{@code port} (0 = free port) with schemas in {@code _schemas}. */
  public static SchemaRegistryServer start(String bootstrapServers, int port) {
    return start(bootstrapServers, Options.defaults().withPort(port));
  }

  /** Starts with schemas in Kafka; returns once the stored schemas are loaded and the port is open. */
  public static SchemaRegistryServer start(String bootstrapServers, Options options) {
    return start(new KafkaSchemaLog(bootstrapServers, options.topic(), options.kafkaClientProperties(),
        options.storeTimeout()), options);
  }

  /** A registry keeping schemas in memory only (nothing survives close): for tests and benchmarks. */
  public static SchemaRegistryServer startInMemory(int port) {
    return start(new MemorySchemaLog(), Options.defaults().withPort(port));
  }

  private static SchemaRegistryServer start(SchemaLog log, Options options) {
    SchemaStore store = new SchemaStore(log);
    try {
      store.start();
    } catch (RuntimeException e) {
      log.close();
      throw e;
    }
    AtomicInteger n = new AtomicInteger();
    ExecutorService executor = Executors.newFixedThreadPool(options.threads(), r -> {
      Thread t = new Thread(r, "schema-registry-http-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    try {
      HttpServer http = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 128);
      SchemaRegistryServer server = new SchemaRegistryServer(http, executor, log, store);
      http.createContext("/", server::handle);
      http.setExecutor(executor);
      http.start();
      LOG.info("schema registry listening on {}", server.url());
      return server;
    } catch (IOException e) {
      executor.shutdownNow();
      log.close();
      throw new IllegalStateException("cannot listen on " + options.host() + ":" + options.port() + ": " + e, e);
    }
  }

  /** {@code http://127.0.0.1:PORT}. */
  public String url() {
    InetSocketAddress a = http.getAddress();
    String host = a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress();
    return "http://" + host + ":" + a.getPort();
  }

  public int port() {
    return http.getAddress().getPort();
  }

  @Override
  public void close() {
    http.stop(0);
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    log.close();
  }

  // ------------------------------------------------------------------ HTTP

  private record Answer(int status, Object body) {
  }

  private void handle(HttpExchange ex) throws IOException {
    Answer answer;
    try {
      answer = route(ex.getRequestMethod(), segments(ex.getRequestURI().getRawPath()),
          query(ex.getRequestURI().getRawQuery()), ex);
    } catch (RegistryException e) {
      answer = error(e.status, e.errorCode, e.getMessage());
    } catch (io.fractalrmo.registry.schema.InvalidSchemaException e) {
      answer = error(422, 42201, e.getMessage());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      answer = error(400, 400, "Malformed JSON request: " + e.getOriginalMessage());
    } catch (RuntimeException e) {
      LOG.warn("request {} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
      answer = error(500, 50001, "Error in the backend data store: " + e);
    }
    byte[] bytes = answer.body() instanceof String raw
        ? raw.getBytes(StandardCharsets.UTF_8)
        : JSON.writeValueAsBytes(answer.body());
    ex.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
    ex.sendResponseHeaders(answer.status(), bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static Answer ok(Object body) {
    return new Answer(200, body);
  }

  private static Answer error(int status, int code, String message) {
    ObjectNode n = JSON.createObjectNode();
    n.put("error_code", code);
    n.put("message", message);
    return new Answer(status, n);
  }

  private Answer route(String method, List<String> p, Map<String, String> q, HttpExchange ex)
      throws IOException {
    boolean deleted = flag(q, "deleted");
    FORMAT.set(q.get("format"));
    int n = p.size();
    String first = n > 0 ? p.get(0) : "";
    switch (first) {
      case "" -> {
        return expect(method, "GET", () -> ok(JSON.createObjectNode()));
      }
      case "subjects" -> {
        if (n == 1) {
          return expect(method, "GET", () -> ok(store.subjects(deleted, q.getOrDefault("subjectPrefix", ""))));
        }
        String subject = p.get(1);
        if (n == 2) {
          if (method.equals("POST")) {
            SchemaStore.Request req = request(body(ex), flag(q, "normalize"));
            SchemaStore.Version v = store.lookup(subject, req, deleted);
            return ok(versionBody(v));
          }
          if (method.equals("DELETE")) {
            return ok(store.deleteSubject(subject, flag(q, "permanent")));
          }
          return notAllowed(method);
        }
        if (n == 3 && p.get(2).equals("metadata")) {
          return expect(method, "GET", () -> ok(versionBody(store.read(() ->
              store.latestWithMetadata(subject, metadataQuery(ex.getRequestURI().getRawQuery()), deleted)))));
        }
        if (!p.get(2).equals("versions")) {
          return notFound();
        }
        if (n == 3) {
          if (method.equals("GET")) {
            return ok(store.read(() -> store.versions(subject, deleted)));
          }
          if (method.equals("POST")) {
            SchemaStore.Registered r = store.register(subject, request(body(ex), flag(q, "normalize")));
            ObjectNode a = JSON.createObjectNode();
            a.put("id", r.id());
            a.put("version", r.version());
            a.put("guid", r.stored().guid(r.id()));
            schemaFields(a, r.stored());
            return ok(a);
          }
          return notAllowed(method);
        }
        String version = p.get(3);
        if (n == 4) {
          if (method.equals("GET")) {
            return ok(versionBody(store.read(() -> store.version(subject, version, deleted))));
          }
          if (method.equals("DELETE")) {
            return ok(store.deleteVersion(subject, version, flag(q, "permanent")));
          }
          return notAllowed(method);
        }
        if (n == 5 && p.get(4).equals("schema")) {
          return expect(method, "GET", () -> new Answer(200,
              store.schemaText(store.read(() -> store.version(subject, version, deleted)).id()).schema()));
        }
        if (n == 5 && p.get(4).equals("referencedby")) {
          return expect(method, "GET", () -> ok(store.read(() -> store.referencedByIds(subject, version))));
        }
        return notFound();
      }
      case "schemas" -> {
        if (n == 1) {
          return expect(method, "GET", () -> {
            ArrayNode a = JSON.createArrayNode();
            int offset = intParam(q, "offset", 0);
            int limit = intParam(q, "limit", -1);
            int i = 0;
            for (Map.Entry<SchemaStore.Version, SchemaStore.Stored> e
                : store.allSchemas(q.getOrDefault("subjectPrefix", ""), deleted, flag(q, "latestOnly"))) {
              if (i++ < offset || (limit >= 0 && a.size() >= limit)) {
                continue;
              }
              ObjectNode o = a.addObject();
              o.put("subject", e.getKey().subject());
              o.put("version", e.getKey().version());
              o.put("id", e.getKey().id());
              schemaFields(o, e.getValue());
            }
            return ok(a);
          });
        }
        if (n == 3 && p.get(1).equals("guids")) {
          return expect(method, "GET", () -> {
            int id = store.read(() -> store.idOfGuid(p.get(2)));
            SchemaStore.Stored s = store.schemaText(id);
            ObjectNode r = JSON.createObjectNode();
            schemaFields(r, s);
            if ("serialized".equals(q.get("format")) && "PROTOBUF".equals(s.schemaType())) {
              r.put("schema", store.serializedProtobuf(id));
            }
            return ok(r);
          });
        }
        if (n == 4 && p.get(1).equals("guids") && p.get(3).equals("ids")) {
          return expect(method, "GET", () -> ok(JSON.createObjectNode().put("id",
              store.read(() -> store.idOfGuid(p.get(2))))));
        }
        if (n == 2 && p.get(1).equals("types")) {
          return expect(method, "GET", () -> ok(Schemas.TYPES));
        }
        if (n >= 3 && p.get(1).equals("ids")) {
          int id = parseId(p.get(2));
          if (n == 3) {
            return expect(method, "GET", () -> {
              // As in Confluent's registry, ?subject= only selects a context (we have the default
              // one): Confluent's deserializers pass the topic's subject whatever subject holds the id.
              SchemaStore.Stored s = store.read(() -> store.schemaText(id));
              ObjectNode r = JSON.createObjectNode();
              schemaFields(r, s);
              if ("serialized".equals(q.get("format")) && "PROTOBUF".equals(s.schemaType())) {
                r.put("schema", store.serializedProtobuf(id));
              }
              if (flag(q, "fetchMaxId")) {
                r.put("maxId", store.maxId());
              }
              return ok(r);
            });
          }
          if (n == 4 && p.get(3).equals("schema")) {
            return expect(method, "GET", () -> new Answer(200, store.read(() -> store.schemaText(id)).schema()));
          }
          if (n == 4 && p.get(3).equals("versions")) {
            return expect(method, "GET", () -> {
              ArrayNode a = JSON.createArrayNode();
              for (SchemaStore.Version v : store.read(() -> store.versionsOfId(id, deleted))) {
                a.addObject().put("subject", v.subject()).put("version", v.version());
              }
              return ok(a);
            });
          }
          if (n == 4 && p.get(3).equals("subjects")) {
            return expect(method, "GET", () -> ok(store.read(() -> store.versionsOfId(id, deleted))
                .stream().map(SchemaStore.Version::subject).distinct().toList()));
          }
        }
        return notFound();
      }
      case "config" -> {
        if (n > 2) {
          return notFound();
        }
        String subject = n == 2 ? p.get(1) : "";
        switch (method) {
          case "GET" -> {
            ObjectNode own = store.shownConfig(subject);
            if (own == null) {
              if (!flag(q, "defaultToGlobal")) {
                throw RegistryException.subjectConfigNotFound(subject);
              }
              own = store.shownConfig("");
            }
            return ok(own);
          }
          case "PUT" -> {
            return ok(store.setConfig(n == 2 ? Optional.of(subject) : Optional.empty(), body(ex)));
          }
          case "DELETE" -> {
            return ok(store.deleteConfig(subject));
          }
          default -> {
            return notAllowed(method);
          }
        }
      }
      case "compatibility" -> {
        if ((n == 4 || n == 5) && p.get(1).equals("subjects") && p.get(3).equals("versions")) {
          if (!method.equals("POST")) {
            return notAllowed(method);
          }
          String subject = p.get(2);
          String version = n == 5 ? p.get(4) : null;
          List<String> problems = store.testCompatibility(subject, version, request(body(ex), flag(q, "normalize")));
          ObjectNode r = JSON.createObjectNode();
          r.put("is_compatible", problems.isEmpty());
          if (flag(q, "verbose")) {
            ArrayNode messages = r.putArray("messages");
            problems.forEach(messages::add);
          }
          return ok(r);
        }
        return notFound();
      }
      case "contexts" -> {
        return expect(method, "GET", () -> ok(List.of(".")));
      }
      case "mode" -> {
        if (n > 2) {
          return notFound();
        }
        String subject = n == 2 ? p.get(1) : "";
        switch (method) {
          case "GET" -> {
            Optional<String> own = subject.isEmpty() ? Optional.of(store.effectiveMode("")) : store.subjectMode(subject);
            if (own.isEmpty() && !flag(q, "defaultToGlobal")) {
              throw RegistryException.subjectModeNotFound(subject);
            }
            return ok(JSON.createObjectNode().put("mode", own.orElseGet(() -> store.effectiveMode(""))));
          }
          case "PUT" -> {
            JsonNode mode = body(ex).path("mode");
            return ok(JSON.createObjectNode().put("mode",
                store.setMode(subject, mode.isTextual() ? mode.asText() : null, flag(q, "force"))));
          }
          case "DELETE" -> {
            return ok(JSON.createObjectNode().put("mode", store.deleteMode(subject)));
          }
          default -> {
            return notAllowed(method);
          }
        }
      }
      default -> {
        return notFound();
      }
    }
  }

  private interface Call {
    Answer call() throws IOException;
  }

  private static Answer expect(String method, String expected, Call call) throws IOException {
    return method.equals(expected) ? call.call() : notAllowed(method);
  }

  private static Answer notFound() {
    return error(404, 404, "HTTP 404 Not Found");
  }

  private static Answer notAllowed(String method) {
    return error(405, 405, "HTTP 405 Method Not Allowed: " + method);
  }

  private ObjectNode versionBody(SchemaStore.Version v) {
    ObjectNode r = JSON.createObjectNode();
    r.put("subject", v.subject());
    r.put("version", v.version());
    r.put("id", v.id());
    SchemaStore.Stored stored = store.schemaText(v.id());
    r.put("guid", stored.guid(v.id()));
    schemaFields(r, stored);
    if ("serialized".equals(FORMAT.get()) && "PROTOBUF".equals(r.path("schemaType").asText())) {
      r.put("schema", store.serializedProtobuf(v.id()));
    }
    return r;
  }

  /** The request's ?format= (serialized: Protobuf as a base64 FileDescriptorProto). */
  private static final ThreadLocal<String> FORMAT = new ThreadLocal<>();

  /** schemaType (left out for AVRO, as Confluent does), schema, and references/metadata/ruleSet when present. */
  private static void schemaFields(ObjectNode r, SchemaStore.Stored s) {
    if (!Schemas.AVRO.equals(s.schemaType())) {
      r.put("schemaType", s.schemaType());
    }
    r.put("schema", s.schema());
    if (!s.references().isEmpty()) {
      r.set("references", SchemaStore.referencesJson(s.references()));
    }
    if (s.metadata() != null) {
      r.set("metadata", s.metadata());
    }
    if (s.ruleSet() != null) {
      r.set("ruleSet", s.ruleSet());
    }
  }

  private static int parseId(String text) {
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw RegistryException.schemaNotFound("'" + text + "' (not an id)");
    }
  }

  private static int intParam(Map<String, String> q, String name, int dflt) {
    try {
      return q.containsKey(name) ? Integer.parseInt(q.get(name)) : dflt;
    } catch (NumberFormatException e) {
      return dflt;
    }
  }

  /** Confluent's register/look-up body: schema, schemaType, references, metadata, ruleSet (and id, version when importing). */
  private static SchemaStore.Request request(JsonNode body, boolean normalize) {
    String type;
    try {
      type = Schemas.type(body.path("schemaType").isTextual() ? body.path("schemaType").asText() : null);
    } catch (io.fractalrmo.registry.schema.InvalidSchemaException e) {
      throw new RegistryException(422, 42201, "Invalid schema type " + body.path("schemaType").asText());
    }
    JsonNode schema = body.path("schema");
    if (!schema.isTextual() || schema.asText().isBlank()) {
      throw RegistryException.invalidSchema("Empty schema");
    }
    JsonNode md = body.get("metadata");
    JsonNode rs = body.get("ruleSet");
    Integer id = body.path("id").canConvertToInt() ? body.path("id").asInt() : null;
    Integer version = body.path("version").canConvertToInt() ? body.path("version").asInt() : null;
    return new SchemaStore.Request(type, schema.asText(), SchemaStore.references(body.get("references")),
        md == null || md.isNull() ? null : md, rs == null || rs.isNull() ? null : rs,
        id != null && id >= 0 ? id : null, version != null && version > 0 ? version : null, normalize);
  }

  /** ?key=k1&value=v1&key=k2&value=v2 pairs of GET /subjects/{s}/metadata. */
  private static Map<String, String> metadataQuery(String rawQuery) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    if (rawQuery == null) {
      return out;
    }
    List<String> keys = new ArrayList<>();
    List<String> values = new ArrayList<>();
    for (String pair : rawQuery.split("&")) {
      int eq = pair.indexOf('=');
      if (eq < 0) {
        continue;
      }
      String k = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      if (k.equals("key")) {
        keys.add(v);
      } else if (k.equals("value")) {
        values.add(v);
      }
    }
    for (int i = 0; i < Math.min(keys.size(), values.size()); i++) {
      out.put(keys.get(i), values.get(i));
    }
    return out;
  }

  private static JsonNode body(HttpExchange ex) throws IOException {
    try (InputStream in = ex.getRequestBody()) {
      byte[] bytes = in.readAllBytes();
      if (bytes.length == 0) {
        return JSON.createObjectNode();
      }
      return JSON.readTree(bytes);
    }
  }

  private static List<String> segments(String rawPath) {
    List<String> out = new ArrayList<>();
    if (rawPath == null) {
      return out;
    }
    for (String s : rawPath.split("/")) {
      if (!s.isEmpty()) {
        out.add(URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  private static Map<String, String> query(String rawQuery) {
    Map<String, String> out = new HashMap<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return out;
    }
    for (String pair : rawQuery.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      out.put(k, v);
    }
    return out;
  }

  private static boolean flag(Map<String, String> q, String name) {
    String v = q.get(name);
    return v != null && (v.isEmpty() || v.equalsIgnoreCase("true"));
  }
}
