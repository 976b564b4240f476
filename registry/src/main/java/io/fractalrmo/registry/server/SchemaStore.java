package io.fractalrmo.registry.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * The registry's state and operations. State changes only by applying log records (in log order,
 * on every instance alike), so an instance restarted on the same topic rebuilds exactly the same
 * subjects, versions and ids.
 *
 * <p>Records follow the layout of Confluent's {@code _schemas} topic: key
 * {@code {"keytype":"SCHEMA","subject":s,"version":v,"magic":1}} with value
 * {@code {"subject","version","id","schema","deleted"}} (a tombstone = permanently deleted);
 * key {@code {"keytype":"CONFIG","subject":s|null,"magic":0}} with value
 * {@code {"compatibilityLevel":...}}; plus our key {@code {"keytype":"ID_WATERMARK"}} holding the
 * highest id ever given, so a permanently deleted id is never given again after compaction.
 */
final class SchemaStore {

  static final String DEFAULT_LEVEL = CompatibilityLevel.BACKWARD.name();
  private static final ObjectMapper JSON = new ObjectMapper();

  record Version(String subject, int version, int id, boolean deleted) {
  }

  private final SchemaLog log;
  // guarded by this
  private final Map<String, NavigableMap<Integer, Version>> subjects = new HashMap<>();
  private final Map<String, Integer> idByCanonical = new HashMap<>();
  private final Map<String, String> configs = new HashMap<>();
  private int maxId;
  // read without locking on the hot path
  private final Map<Integer, String> schemaById = new ConcurrentHashMap<>();
  private final Map<Integer, Schema> parsedById = new ConcurrentHashMap<>();

  SchemaStore(SchemaLog log) {
    this.log = log;
  }

  void start() {
    log.start(this::apply);
  }

  // ---------------------------------------------------------------- applying records

  synchronized void apply(String keyJson, String valueJson) {
    JsonNode key = read(keyJson);
    String type = key.path("keytype").asText();
    switch (type) {
      case "SCHEMA" -> {
        String subject = key.path("subject").asText();
        int version = key.path("version").asInt();
        if (valueJson == null) {
          NavigableMap<Integer, Version> versions = subjects.get(subject);
          if (versions != null) {
            Version removed = versions.remove(version);
            if (versions.isEmpty()) {
              subjects.remove(subject);
            }
            if (removed != null) {
              forgetIfUnreferenced(removed.id());
            }
          }
          return;
        }
        JsonNode v = read(valueJson);
        int id = v.path("id").asInt();
        String schema = v.path("schema").asText();
        schemaById.putIfAbsent(id, schema);
        idByCanonical.putIfAbsent(schema, id);
        maxId = Math.max(maxId, id);
        subjects.computeIfAbsent(subject, s -> new TreeMap<>())
            .put(version, new Version(subject, version, id, v.path("deleted").asBoolean(false)));
      }
      case "CONFIG" -> {
        String subject = key.path("subject").isNull() || key.path("subject").isMissingNode()
            ? "" : key.path("subject").asText();
        if (valueJson == null) {
          configs.remove(subject);
        } else {
          configs.put(subject, read(valueJson).path("compatibilityLevel").asText(DEFAULT_LEVEL));
        }
      }
      case "ID_WATERMARK" -> {
        if (valueJson != null) {
          maxId = Math.max(maxId, read(valueJson).path("max_id").asInt());
        }
      }
      default -> {
        // NOOP and DELETE_SUBJECT records of other registries carry nothing we need
      }
    }
  }

  private void forgetIfUnreferenced(int id) {
    boolean referenced = subjects.values().stream()
        .anyMatch(vs -> vs.values().stream().anyMatch(v -> v.id() == id));
    if (!referenced) {
      String schema = schemaById.remove(id);
      parsedById.remove(id);
      if (schema != null) {
        idByCanonical.remove(schema, id);
      }
    }
  }

  // ---------------------------------------------------------------- writes

  /** Registers (or finds) {@code schemaText} under {@code subject}; returns its id. */
  int register(String subject, String schemaText) {
    Schema schema = parse(schemaText);
    String canonical = schema.toString();
    Integer registered = liveIdUnder(subject, canonical);
    if (registered != null) {
      return registered; // already registered: answered from memory, as Confluent's followers do
    }
    return log.writeExclusive(() -> {
      synchronized (this) {
        NavigableMap<Integer, Version> versions = subjects.getOrDefault(subject, new TreeMap<>());
        for (Version v : versions.values()) {
          if (!v.deleted() && canonical.equals(schemaById.get(v.id()))) {
            return new SchemaLog.Decision<>(List.of(), v.id());
          }
        }
        CompatibilityLevel level = CompatibilityLevel.parse(effectiveLevel(subject));
        List<String> problems = level.check(schema, liveSchemas(versions));
        if (!problems.isEmpty()) {
          throw RegistryException.incompatible(subject, problems);
        }
        Integer known = idByCanonical.get(canonical);
        int id = known != null ? known : maxId + 1;
        int version = versions.isEmpty() ? 1 : versions.lastKey() + 1;
        List<SchemaLog.Entry> entries = new ArrayList<>();
        entries.add(schemaEntry(subject, version, id, canonical, false));
        if (known == null) {
          entries.add(new SchemaLog.Entry("{\"keytype\":\"ID_WATERMARK\",\"magic\":0}",
              "{\"max_id\":" + id + "}"));
        }
        return new SchemaLog.Decision<>(entries, id);
      }
    });
  }

  private synchronized Integer liveIdUnder(String subject, String canonical) {
    NavigableMap<Integer, Version> versions = subjects.get(subject);
    if (versions != null) {
      for (Version v : versions.values()) {
        if (!v.deleted() && canonical.equals(schemaById.get(v.id()))) {
          return v.id();
        }
      }
    }
    return null;
  }

  /** Soft or permanent delete of a whole subject; returns the versions deleted. */
  List<Integer> deleteSubject(String subject, boolean permanent) {
    return log.writeExclusive(() -> {
      synchronized (this) {
        NavigableMap<Integer, Version> versions = subjects.get(subject);
        if (versions == null || versions.isEmpty()) {
          throw RegistryException.subjectNotFound(subject);
        }
        boolean anyLive = versions.values().stream().anyMatch(v -> !v.deleted());
        List<SchemaLog.Entry> entries = new ArrayList<>();
        List<Integer> deleted = new ArrayList<>();
        if (!permanent) {
          if (!anyLive) {
            throw RegistryException.subjectSoftDeleted(subject);
          }
          for (Version v : versions.values()) {
            if (!v.deleted()) {
              entries.add(schemaEntry(subject, v.version(), v.id(), schemaById.get(v.id()), true));
              deleted.add(v.version());
            }
          }
        } else {
          if (anyLive) {
            throw RegistryException.subjectNotSoftDeleted(subject);
          }
          for (Version v : versions.values()) {
            entries.add(new SchemaLog.Entry(schemaKey(subject, v.version()), null));
            deleted.add(v.version());
          }
          if (configs.containsKey(subject)) {
            entries.add(new SchemaLog.Entry(configKey(subject), null));
          }
        }
        return new SchemaLog.Decision<>(entries, deleted);
      }
    });
  }

  /** Soft or permanent delete of one version ("latest" allowed); returns the version number. */
  int deleteVersion(String subject, String versionText, boolean permanent) {
    return log.writeExclusive(() -> {
      synchronized (this) {
        NavigableMap<Integer, Version> versions = subjects.get(subject);
        if (versions == null || versions.isEmpty()) {
          throw RegistryException.subjectNotFound(subject);
        }
        Version v = findVersion(subject, versions, versionText, true);
        if (!permanent) {
          if (v.deleted()) {
            throw RegistryException.versionSoftDeleted(subject, v.version());
          }
          return new SchemaLog.Decision<>(List.of(
              schemaEntry(subject, v.version(), v.id(), schemaById.get(v.id()), true)), v.version());
        }
        if (!v.deleted()) {
          throw RegistryException.versionNotSoftDeleted(subject, v.version());
        }
        return new SchemaLog.Decision<>(List.of(
            new SchemaLog.Entry(schemaKey(subject, v.version()), null)), v.version());
      }
    });
  }

  /** Sets the global ({@code subject} empty) or a subject's level. */
  String setLevel(Optional<String> subject, String levelText) {
    String level = CompatibilityLevel.parse(levelText).name();
    return log.writeExclusive(() -> new SchemaLog.Decision<>(List.of(new SchemaLog.Entry(
        configKey(subject.orElse("")), "{\"compatibilityLevel\":\"" + level + "\"}")), level));
  }

  /** Removes a subject's level (it falls back to the global one); returns the level it had. */
  String deleteLevel(String subject) {
    return log.writeExclusive(() -> {
      synchronized (this) {
        String had = configs.get(subject);
        if (had == null) {
          throw RegistryException.subjectConfigNotFound(subject);
        }
        return new SchemaLog.Decision<>(List.of(new SchemaLog.Entry(configKey(subject), null)), had);
      }
    });
  }

  // ---------------------------------------------------------------- reads

  /** Runs a read; on a not-found answer, catches up with the log (another instance may have written) and tries once more. */
  <T> T read(Supplier<T> query) {
    try {
      return query.get();
    } catch (RegistryException e) {
      if (e.status != 404) {
        throw e;
      }
      log.awaitCaughtUp();
      return query.get();
    }
  }

  synchronized List<String> subjects(boolean includeDeleted, String prefix) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, NavigableMap<Integer, Version>> e : new TreeMap<>(subjects).entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        continue;
      }
      if (includeDeleted || e.getValue().values().stream().anyMatch(v -> !v.deleted())) {
        out.add(e.getKey());
      }
    }
    return out;
  }

  synchronized List<Integer> versions(String subject, boolean includeDeleted) {
    NavigableMap<Integer, Version> versions = liveOrAll(subject, includeDeleted);
    List<Integer> out = new ArrayList<>();
    for (Version v : versions.values()) {
      if (includeDeleted || !v.deleted()) {
        out.add(v.version());
      }
    }
    return out;
  }

  synchronized Version version(String subject, String versionText, boolean includeDeleted) {
    NavigableMap<Integer, Version> versions = liveOrAll(subject, includeDeleted);
    return findVersion(subject, versions, versionText, includeDeleted);
  }

  /** The version of {@code subject} holding {@code schemaText}. */
  Version lookup(String subject, String schemaText, boolean includeDeleted) {
    String canonical = parse(schemaText).toString();
    return read(() -> {
      synchronized (this) {
        NavigableMap<Integer, Version> versions = liveOrAll(subject, includeDeleted);
        Version found = null;
        for (Version v : versions.values()) {
          if ((includeDeleted || !v.deleted()) && canonical.equals(schemaById.get(v.id()))) {
            found = v; // the latest version holding it
          }
        }
        if (found == null) {
          throw RegistryException.schemaNotFound("not found under subject '" + subject + "'");
        }
        return found;
      }
    });
  }

  /** The schema text with this id (hot path: no lock). */
  String schemaText(int id) {
    String s = schemaById.get(id);
    if (s == null) {
      throw RegistryException.schemaNotFound(String.valueOf(id));
    }
    return s;
  }

  synchronized int maxId() {
    return maxId;
  }

  synchronized List<Version> versionsOfId(int id, boolean includeDeleted) {
    schemaText(id);
    List<Version> out = new ArrayList<>();
    for (String subject : new TreeSet<>(subjects.keySet())) {
      for (Version v : subjects.get(subject).values()) {
        if (v.id() == id && (includeDeleted || !v.deleted())) {
          out.add(v);
        }
      }
    }
    return out;
  }

  synchronized String globalLevel() {
    return configs.getOrDefault("", DEFAULT_LEVEL);
  }

  synchronized Optional<String> subjectLevel(String subject) {
    return Optional.ofNullable(configs.get(subject));
  }

  synchronized String effectiveLevel(String subject) {
    return configs.getOrDefault(subject, configs.getOrDefault("", DEFAULT_LEVEL));
  }

  /**
   * Compatibility of {@code schemaText} with {@code versionText} of {@code subject} (null: all live
   * versions); "latest" under a transitive level checks every live version, as Confluent does.
   */
  List<String> testCompatibility(String subject, String versionText, String schemaText) {
    Schema schema = parse(schemaText);
    return read(() -> {
      synchronized (this) {
        NavigableMap<Integer, Version> versions = subjects.get(subject);
        if (versions == null || versions.values().stream().allMatch(Version::deleted)) {
          throw RegistryException.subjectNotFound(subject);
        }
        CompatibilityLevel level = CompatibilityLevel.parse(effectiveLevel(subject));
        List<Schema> against;
        if (versionText == null || (level.transitive() && isLatest(versionText))) {
          against = liveSchemas(versions);
        } else {
          Version v = findVersion(subject, versions, versionText, false);
          against = List.of(parsed(v.id()));
        }
        return level.check(schema, against);
      }
    });
  }

  // ---------------------------------------------------------------- helpers

  private NavigableMap<Integer, Version> liveOrAll(String subject, boolean includeDeleted) {
    NavigableMap<Integer, Version> versions = subjects.get(subject);
    if (versions == null || (!includeDeleted && versions.values().stream().allMatch(Version::deleted))) {
      throw RegistryException.subjectNotFound(subject);
    }
    return versions;
  }

  private static boolean isLatest(String versionText) {
    return "latest".equalsIgnoreCase(versionText) || "-1".equals(versionText);
  }

  private Version findVersion(String subject, NavigableMap<Integer, Version> versions,
      String versionText, boolean includeDeleted) {
    if (isLatest(versionText)) {
      Version latest = null;
      for (Version v : versions.values()) {
        if (includeDeleted || !v.deleted()) {
          latest = v;
        }
      }
      if (latest == null) {
        throw RegistryException.versionNotFound(subject, versionText);
      }
      return latest;
    }
    int n;
    try {
      n = Integer.parseInt(versionText);
    } catch (NumberFormatException e) {
      throw RegistryException.invalidVersion(versionText);
    }
    if (n < 1) {
      throw RegistryException.invalidVersion(versionText);
    }
    Version v = versions.get(n);
    if (v == null || (!includeDeleted && v.deleted())) {
      throw RegistryException.versionNotFound(subject, n);
    }
    return v;
  }

  private List<Schema> liveSchemas(NavigableMap<Integer, Version> versions) {
    List<Schema> out = new ArrayList<>();
    for (Version v : versions.values()) {
      if (!v.deleted()) {
        out.add(parsed(v.id()));
      }
    }
    return out;
  }

  private Schema parsed(int id) {
    return parsedById.computeIfAbsent(id, k -> new Schema.Parser().parse(schemaText(k)));
  }

  static Schema parse(String schemaText) {
    if (schemaText == null || schemaText.isBlank()) {
      throw RegistryException.invalidSchema("empty schema");
    }
    try {
      return new Schema.Parser().parse(schemaText);
    } catch (SchemaParseException | IllegalArgumentException | NullPointerException e) {
      throw RegistryException.invalidSchema(e.getMessage());
    } catch (org.apache.avro.AvroRuntimeException e) {
      throw RegistryException.invalidSchema(e.getMessage());
    }
  }

  private static String schemaKey(String subject, int version) {
    ObjectNode k = JSON.createObjectNode();
    k.put("keytype", "SCHEMA").put("subject", subject).put("version", version).put("magic", 1);
    return k.toString();
  }

  private static String configKey(String subject) {
    ObjectNode k = JSON.createObjectNode();
    k.put("keytype", "CONFIG");
    if (subject.isEmpty()) {
      k.putNull("subject");
    } else {
      k.put("subject", subject);
    }
    k.put("magic", 0);
    return k.toString();
  }

  private static SchemaLog.Entry schemaEntry(String subject, int version, int id, String schema,
      boolean deleted) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("subject", subject);
    v.put("version", version);
    v.put("id", id);
    v.put("schema", schema);
    v.put("deleted", deleted);
    try {
      return new SchemaLog.Entry(schemaKey(subject, version), JSON.writeValueAsString(v));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JsonNode read(String json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
