package io.fractalrmo.registry.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import io.fractalrmo.registry.schema.ParsedSchema;
import io.fractalrmo.registry.schema.ReferenceResolver;
import io.fractalrmo.registry.schema.SchemaReference;
import io.fractalrmo.registry.schema.Schemas;
import org.apache.avro.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of Confluent Schema Registry's REST API (any compatible server: Confluent's, Karapace,
 * Apicurio's ccompat endpoint, or our {@code SchemaRegistryServer}).
 *
 * <p>Guarantees: ids and schemas, once learned, are cached for the life of the client (they are
 * immutable in the registry), so a registry outage after warm-up does not stop a running
 * pipeline; with several URLs a connection failure or 5xx answer moves on to the next URL; a 4xx
 * answer is the registry's verdict and is thrown as {@link RestClientException} at once.
 * Thread-safe.
 */
public final class SchemaRegistryClient implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryClient.class);
  public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RegistryClientConfig config;
  private final HttpClient http;
  private final AtomicInteger preferred = new AtomicInteger();
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
  private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();
  private final Map<String, CachedLatest> latestBySubject = new ConcurrentHashMap<>();
  private final Map<String, RegisteredSchema> registeredByKey = new ConcurrentHashMap<>();
  private final Map<Integer, RegisteredSchema> registeredById = new ConcurrentHashMap<>();
  private final Map<Integer, ParsedSchema> parsedById = new ConcurrentHashMap<>();

  private record CachedLatest(SchemaMetadata metadata, long fetchedAtNanos) {
  }

  public SchemaRegistryClient(RegistryClientConfig config) {
    this.config = config;
    HttpClient.Builder b = HttpClient.newBuilder()
        .connectTimeout(config.connectTimeout())
        .version(HttpClient.Version.HTTP_1_1);
    config.sslContext().ifPresent(b::sslContext);
    this.http = b.build();
  }

  public static SchemaRegistryClient of(String urls) {
    return new SchemaRegistryClient(RegistryClientConfig.of(urls));
  }

  public RegistryClientConfig config() {
    return config;
  }

  // ---- the calls the serde makes, cached ----

  /** Registers {@code schema} under {@code subject} (or finds it registered); returns its id. */
  public int register(String subject, Schema schema) throws IOException, RestClientException {
    return register(subject, schema, false);
  }

  public int register(String subject, Schema schema, boolean normalize)
      throws IOException, RestClientException {
    Map<Schema, Integer> ids = idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
    Integer cached = ids.get(schema);
    if (cached != null) {
      return cached;
    }
    ObjectNode body = JSON.createObjectNode().put("schema", schema.toString());
    JsonNode answer = send("POST", "/subjects/" + encode(subject) + "/versions"
        + (normalize ? "?normalize=true" : ""), body);
    int id = answer.path("id").asInt(-1);
    if (id < 0) {
      throw new IOException("registry answered without an id: " + answer);
    }
    ids.put(schema, id);
    schemasById.putIfAbsent(id, schema);
    return id;
  }

  /** Finds the version of {@code subject} holding {@code schema}, without registering it. */
  public SchemaMetadata lookup(String subject, Schema schema) throws IOException, RestClientException {
    ObjectNode body = JSON.createObjectNode().put("schema", schema.toString());
    JsonNode answer = send("POST", "/subjects/" + encode(subject), body);
    SchemaMetadata md = metadata(answer);
    idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).put(schema, md.id());
    return md;
  }

  /** The id of {@code schema} under {@code subject}, cached after the first look-up. */
  public int idOf(String subject, Schema schema) throws IOException, RestClientException {
    Integer cached = idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).get(schema);
    return cached != null ? cached : lookup(subject, schema).id();
  }

  /** The schema with this id; cached forever (ids are immutable). */
  public Schema schemaById(int id) throws IOException, RestClientException {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    JsonNode answer = send("GET", "/schemas/ids/" + id, null);
    String type = answer.path("schemaType").asText("AVRO");
    if (!"AVRO".equals(type)) {
      throw new IOException("schema id " + id + " is of type " + type + ", not AVRO");
    }
    Schema schema = new Schema.Parser().parse(answer.path("schema").asText());
    Schema prev = schemasById.putIfAbsent(id, schema);
    return prev != null ? prev : schema;
  }

  /**
   * The latest version of {@code subject}; an answer younger than {@code maxAgeMillis} (negative:
   * forever) is served from the cache, and a stale one is served when the registry is unreachable.
   */
  public SchemaMetadata latest(String subject, long maxAgeMillis) throws IOException, RestClientException {
    CachedLatest c = latestBySubject.get(subject);
    long now = System.nanoTime();
    if (c != null && (maxAgeMillis < 0 || now - c.fetchedAtNanos() < maxAgeMillis * 1_000_000L)) {
      return c.metadata();
    }
    try {
      SchemaMetadata md = version(subject, "latest");
      latestBySubject.put(subject, new CachedLatest(md, now));
      return md;
    } catch (IOException e) {
      if (c != null) {
        LOG.warn("registry unreachable, using cached latest version of {}: {}", subject, e.toString());
        return c.metadata();
      }
      throw e;
    }
  }

  // ---- any schema type (AVRO, JSON, PROTOBUF), with references ----

  /**
   * Registers (or finds) a schema of any type under {@code subject}; returns the id and the
   * version it has there. Cached per (subject, type, text, references).
   */
  public RegisteredVersion register(String subject, String schemaType, String schema,
      List<SchemaReference> references, boolean normalize) throws IOException, RestClientException {
    String key = subject + "\u0000" + schemaType + "\u0000" + schema + "\u0000" + references + "\u0000" + normalize;
    RegisteredSchema cached = registeredByKey.get(key);
    if (cached != null) {
      return new RegisteredVersion(cached.id(), versionsByKey.getOrDefault(key, -1));
    }
    ObjectNode body = schemaBody(schemaType, schema, references);
    JsonNode answer = send("POST", "/subjects/" + encode(subject) + "/versions"
        + (normalize ? "?normalize=true" : ""), body);
    int id = answer.path("id").asInt(-1);
    if (id < 0) {
      throw new IOException("registry answered without an id: " + answer);
    }
    int version = answer.path("version").asInt(-1);
    if (version < 0) {
      // registries before Confluent 7.x answer {"id"} only: ask for the version
      version = send("POST", "/subjects/" + encode(subject), body).path("version").asInt(-1);
    }
    registeredByKey.put(key, new RegisteredSchema(id, schemaType, schema, references));
    versionsByKey.put(key, version);
    return new RegisteredVersion(id, version);
  }

  /** The id and version a schema has under a subject. */
  public record RegisteredVersion(int id, int version) {
  }

  private final Map<String, Integer> versionsByKey = new ConcurrentHashMap<>();

  /** Finds a schema of any type under {@code subject} without registering it. */
  public RegisteredVersion lookup(String subject, String schemaType, String schema,
      List<SchemaReference> references) throws IOException, RestClientException {
    String key = subject + "\u0000" + schemaType + "\u0000" + schema + "\u0000" + references + "\u0000lookup";
    RegisteredSchema cached = registeredByKey.get(key);
    if (cached != null) {
      return new RegisteredVersion(cached.id(), versionsByKey.getOrDefault(key, -1));
    }
    JsonNode answer = send("POST", "/subjects/" + encode(subject), schemaBody(schemaType, schema, references));
    RegisteredVersion rv = new RegisteredVersion(answer.path("id").asInt(), answer.path("version").asInt());
    registeredByKey.put(key, new RegisteredSchema(rv.id(), schemaType, schema, references));
    versionsByKey.put(key, rv.version());
    return rv;
  }

  /** The schema with this id, any type; cached forever (ids are immutable). */
  public RegisteredSchema registered(int id) throws IOException, RestClientException {
    RegisteredSchema cached = registeredById.get(id);
    if (cached != null) {
      return cached;
    }
    JsonNode answer = send("GET", "/schemas/ids/" + id, null);
    RegisteredSchema s = new RegisteredSchema(id, answer.path("schemaType").asText("AVRO"),
        answer.path("schema").asText(), references(answer.path("references")));
    RegisteredSchema prev = registeredById.putIfAbsent(id, s);
    return prev != null ? prev : s;
  }

  /** One version of a subject, any type, with its references. */
  public RegisteredSchema registered(String subject, String version) throws IOException, RestClientException {
    JsonNode answer = send("GET", "/subjects/" + encode(subject) + "/versions/" + version, null);
    return new RegisteredSchema(answer.path("id").asInt(), answer.path("schemaType").asText("AVRO"),
        answer.path("schema").asText(), references(answer.path("references")));
  }

  /** The schema with this id parsed, its references fetched and resolved; cached forever. */
  public ParsedSchema parsed(int id) throws IOException, RestClientException {
    ParsedSchema cached = parsedById.get(id);
    if (cached != null) {
      return cached;
    }
    RegisteredSchema s = registered(id);
    Map<String, String> resolved = resolve(s.references());
    ParsedSchema p = Schemas.parse(s.schemaType(), s.schema(), resolved);
    ParsedSchema prev = parsedById.putIfAbsent(id, p);
    return prev != null ? prev : p;
  }

  /** The texts of {@code references}, transitively, dependencies first. */
  public Map<String, String> resolve(List<SchemaReference> references) throws IOException, RestClientException {
    try {
      return ReferenceResolver.resolve(references, (subject, version) -> {
        try {
          RegisteredSchema r = registered(subject, String.valueOf(version));
          return new ReferenceResolver.Referenced(r.schema(), r.references());
        } catch (IOException | RestClientException e) {
          throw new java.io.UncheckedIOException(new IOException("cannot fetch reference " + subject
              + " version " + version + ": " + e.getMessage(), e));
        }
      });
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static ObjectNode schemaBody(String schemaType, String schema, List<SchemaReference> references) {
    ObjectNode body = JSON.createObjectNode().put("schema", schema);
    if (!"AVRO".equals(schemaType)) {
      body.put("schemaType", schemaType);
    }
    if (!references.isEmpty()) {
      var a = body.putArray("references");
      for (SchemaReference r : references) {
        a.addObject().put("name", r.name()).put("subject", r.subject()).put("version", r.version());
      }
    }
    return body;
  }

  private static List<SchemaReference> references(JsonNode refs) {
    List<SchemaReference> out = new ArrayList<>();
    refs.forEach(r -> out.add(new SchemaReference(r.path("name").asText(), r.path("subject").asText(),
        r.path("version").asInt())));
    return out;
  }

  // ---- the rest of the API (tools, tests, operators) ----

  public SchemaMetadata version(String subject, String version) throws IOException, RestClientException {
    SchemaMetadata md = metadata(send("GET", "/subjects/" + encode(subject) + "/versions/" + version, null));
    return md;
  }

  public List<String> subjects() throws IOException, RestClientException {
    List<String> out = new ArrayList<>();
    send("GET", "/subjects", null).forEach(n -> out.add(n.asText()));
    return out;
  }

  public List<Integer> versions(String subject) throws IOException, RestClientException {
    List<Integer> out = new ArrayList<>();
    send("GET", "/subjects/" + encode(subject) + "/versions", null).forEach(n -> out.add(n.asInt()));
    return out;
  }

  public List<Integer> deleteSubject(String subject, boolean permanent) throws IOException, RestClientException {
    List<Integer> out = new ArrayList<>();
    send("DELETE", "/subjects/" + encode(subject) + (permanent ? "?permanent=true" : ""), null)
        .forEach(n -> out.add(n.asInt()));
    idsBySubject.remove(subject);
    latestBySubject.remove(subject);
    return out;
  }

  /** Compatibility level of a subject, or the global one when {@code subject} is empty. */
  public String compatibility(Optional<String> subject) throws IOException, RestClientException {
    String path = subject.map(s -> "/config/" + encode(s) + "?defaultToGlobal=true").orElse("/config");
    return send("GET", path, null).path("compatibilityLevel").asText();
  }

  public void setCompatibility(Optional<String> subject, String level) throws IOException, RestClientException {
    String path = subject.map(s -> "/config/" + encode(s)).orElse("/config");
    send("PUT", path, JSON.createObjectNode().put("compatibility", level));
  }

  public boolean testCompatibility(String subject, Schema schema) throws IOException, RestClientException {
    ObjectNode body = JSON.createObjectNode().put("schema", schema.toString());
    return send("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest", body)
        .path("is_compatible").asBoolean(false);
  }

  @Override
  public void close() {
    // java.net.http.HttpClient has no close() on Java 17; its threads end with the client.
  }

  // ---- transport ----

  private static SchemaMetadata metadata(JsonNode n) {
    return new SchemaMetadata(n.path("subject").asText(), n.path("version").asInt(),
        n.path("id").asInt(), n.path("schema").asText());
  }

  /** Percent-encodes one path segment (a subject may hold any character). */
  public static String encode(String segment) {
    StringBuilder sb = new StringBuilder();
    for (byte b : segment.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_' || c == '~') {
        sb.append((char) c);
      } else {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return sb.toString();
  }

  private JsonNode send(String method, String pathAndQuery, JsonNode body)
      throws IOException, RestClientException {
    List<URI> urls = config.urls();
    int start = preferred.get();
    IOException last = null;
    for (int i = 0; i < urls.size(); i++) {
      int index = (start + i) % urls.size();
      URI uri = URI.create(urls.get(index) + pathAndQuery);
      HttpRequest.Builder rb = HttpRequest.newBuilder(uri)
          .timeout(config.readTimeout())
          .header("Accept", CONTENT_TYPE + ", application/json");
      config.authorization().ifPresent(a -> rb.header("Authorization", a));
      if (body != null) {
        rb.header("Content-Type", CONTENT_TYPE);
        rb.method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
      } else {
        rb.method(method, HttpRequest.BodyPublishers.noBody());
      }
      HttpResponse<byte[]> response;
      try {
        response = http.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while calling " + uri, e);
      } catch (IOException e) {
        last = new IOException("schema registry " + urls.get(index) + " unreachable: " + e, e);
        LOG.debug("registry {} failed, trying the next URL", urls.get(index), e);
        continue;
      }
      int status = response.statusCode();
      if (status >= 500) {
        last = new IOException("schema registry " + urls.get(index) + " answered " + status + ": "
            + new String(response.body(), StandardCharsets.UTF_8));
        continue;
      }
      preferred.set(index);
      JsonNode node = response.body().length == 0 ? JSON.nullNode() : parse(response.body(), uri);
      if (status >= 400) {
        throw new RestClientException(status, node.path("error_code").asInt(status),
            node.path("message").asText(new String(response.body(), StandardCharsets.UTF_8)));
      }
      return node;
    }
    throw last != null ? last : new IOException("no schema registry URL configured");
  }

  private static JsonNode parse(byte[] body, URI uri) throws IOException {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      // GET .../schema answers the bare schema; callers of that path read it as text.
      return JSON.getNodeFactory().textNode(new String(body, StandardCharsets.UTF_8));
    }
  }
}
