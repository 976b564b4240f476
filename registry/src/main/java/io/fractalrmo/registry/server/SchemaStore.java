package io.fractalrmo.registry.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.registry.schema.InvalidSchemaException;
import io.fractalrmo.registry.schema.ParsedSchema;
import io.fractalrmo.registry.schema.ReferenceResolver;
import io.fractalrmo.registry.schema.SchemaReference;
import io.fractalrmo.registry.schema.Schemas;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The registry's state and operations. State changes only by applying log records (in log order,
 * on every instance alike), so an instance restarted on the same topic rebuilds exactly the same
 * subjects, versions, ids, configs and modes.
 *
 * <p>Records follow the layout of Confluent's {@code _schemas} topic: key
 * {@code {"keytype":"SCHEMA","subject":s,"version":v,"magic":1}} with value
 * {@code {"subject","version","id","schemaType","schema","references","metadata","ruleSet","deleted"}}
 * (a tombstone = permanently deleted); {@code CONFIG} and {@code MODE} keys per subject (null =
 * global); {@code DELETE_SUBJECT} from Confluent's own registry is understood; plus our key
 * {@code {"keytype":"ID_WATERMARK"}} holding the highest id ever given, so a permanently deleted
 * id is never given again after compaction.
 *
 * <p>A schema's identity (what one id stands for) is its type, canonical text, references,
 * metadata and rule set, as in Confluent; a new version without metadata or rule set inherits the
 * previous version's, and look-up tries that inheritance too.
 */
final class SchemaStore {

  static final String DEFAULT_LEVEL = CompatibilityLevel.BACKWARD.name();
  static final String DEFAULT_MODE = "READWRITE";
  static final Set<String> MODES = Set.of("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT", "FORWARD");
  private static final ObjectMapper JSON = new ObjectMapper();

  record Version(String subject, int version, int id, boolean deleted) {
  }

  /** What an id stands for. */
  record Stored(String schemaType, String schema, List<SchemaReference> references, JsonNode metadata,
      JsonNode ruleSet) {

    String identity() {
      return schemaType + "\u0000" + schema + "\u0000" + references + "\u0000" + metadata + "\u0000" + ruleSet;
    }

    /**
     * Confluent's schema GUID (CP 8): here derived from the id and the identity, so every
     * instance, and every restart, gives one schema the same GUID without storing it.
     */
    String guid(int id) {
      return java.util.UUID.nameUUIDFromBytes((id + "\u0000" + identity()).getBytes(java.nio.charset.StandardCharsets.UTF_8))
          .toString();
    }

    String identityIgnoringMetadata() {
      return schemaType + "\u0000" + schema + "\u0000" + references;
    }
  }

  /** A registration or look-up request as Confluent's clients send it. */
  record Request(String schemaType, String schema, List<SchemaReference> references, JsonNode metadata,
      JsonNode ruleSet, Integer id, Integer version, boolean normalize) {
  }

  record Registered(int id, int version, Stored stored) {
  }

  private final SchemaLog log;
  // guarded by this
  private final Map<String, NavigableMap<Integer, Version>> subjects = new HashMap<>();
  private final Map<String, Integer> idByIdentity = new HashMap<>();
  private final Map<String, ObjectNode> configs = new HashMap<>();
  private final Map<String, String> modes = new HashMap<>();
  private int maxId;
  // read without locking on the hot path
  private final Map<Integer, Stored> schemaById = new ConcurrentHashMap<>();
  private final Map<Integer, ParsedSchema> parsedById = new ConcurrentHashMap<>();
  private final Map<String, Integer> idByGuid = new ConcurrentHashMap<>();

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
    String keySubject = key.path("subject").isNull() || key.path("subject").isMissingNode()
        ? "" : key.path("subject").asText();
    switch (type) {
      case "SCHEMA" -> {
        int version = key.path("version").asInt();
        if (valueJson == null) {
          NavigableMap<Integer, Version> versions = subjects.get(keySubject);
          if (versions != null) {
            Version removed = versions.remove(version);
            if (versions.isEmpty()) {
              subjects.remove(keySubject);
            }
            if (removed != null) {
              forgetIfUnused(removed.id());
            }
          }
          return;
        }
        JsonNode v = read(valueJson);
        int id = v.path("id").asInt();
        Stored stored = new Stored(Schemas.type(v.path("schemaType").asText(null)), v.path("schema").asText(),
            references(v.path("references")), nullIfMissing(v.get("metadata")), nullIfMissing(v.get("ruleSet")));
        if (schemaById.putIfAbsent(id, stored) == null) {
          idByGuid.put(stored.guid(id), id);
        }
        idByIdentity.putIfAbsent(stored.identity(), id);
        maxId = Math.max(maxId, id);
        subjects.computeIfAbsent(keySubject, s -> new TreeMap<>())
            .put(version, new Version(keySubject, version, id, v.path("deleted").asBoolean(false)));
      }
      case "CONFIG" -> {
        if (valueJson == null) {
          configs.remove(keySubject);
        } else {
          JsonNode v = read(valueJson);
          configs.put(keySubject, v.isObject() ? (ObjectNode) v : JSON.createObjectNode());
        }
      }
      case "MODE" -> {
        if (valueJson == null) {
          modes.remove(keySubject);
        } else {
          modes.put(keySubject, read(valueJson).path("mode").asText(DEFAULT_MODE));
        }
      }
      case "DELETE_SUBJECT" -> {
        if (valueJson != null) {
          int upTo = read(valueJson).path("version").asInt(Integer.MAX_VALUE);
          NavigableMap<Integer, Version> versions = subjects.get(keySubject);
          if (versions != null) {
            versions.replaceAll((n, ver) -> n <= upTo ? new Version(ver.subject(), n, ver.id(), true) : ver);
          }
        }
      }
      case "ID_WATERMARK" -> {
        if (valueJson != null) {
          maxId = Math.max(maxId, read(valueJson).path("max_id").asInt());
        }
      }
      default -> {
        // NOOP and other registries' records carry nothing we need
      }
    }
  }

  private void forgetIfUnused(int id) {
    boolean used = subjects.values().stream()
        .anyMatch(vs -> vs.values().stream().anyMatch(v -> v.id() == id));
    if (!used) {
      Stored s = schemaById.remove(id);
      parsedById.remove(id);
      if (s != null) {
        idByIdentity.remove(s.identity(), id);
        idByGuid.remove(s.guid(id), id);
      }
    }
  }

  // ---------------------------------------------------------------- parsing

  /** Parses a request's schema with its references resolved from this store; normalizes when asked. */
  private ParsedSchema parse(String type, String text, List<SchemaReference> refs, boolean normalize) {
    Map<String, String> resolved;
    synchronized (this) {
      resolved = ReferenceResolver.resolve(refs, (subject, version) -> {
        NavigableMap<Integer, Version> versions = subjects.get(subject);
        Version v = versions == null ? null : version == -1 ? versions.lastEntry() == null ? null
            : versions.lastEntry().getValue() : versions.get(version);
        if (v == null) {
          throw new InvalidSchemaException("Invalid schema: reference to subject '" + subject
              + "' version " + version + " not found");
        }
        Stored s = schemaById.get(v.id());
        return new ReferenceResolver.Referenced(s.schema(), s.references());
      });
    }
    try {
      ParsedSchema p = Schemas.parse(type, text, resolved);
      return normalize ? p.normalize() : p;
    } catch (InvalidSchemaException e) {
      throw RegistryException.invalidSchema(type, e.getMessage());
    }
  }

  private ParsedSchema parsed(int id) {
    ParsedSchema cached = parsedById.get(id);
    if (cached != null) {
      return cached;
    }
    // not computeIfAbsent: parsing takes this store's lock (to resolve references), and a
    // thread holding that lock may need the same map bin — parse first, then publish
    Stored s = schemaText(id);
    ParsedSchema p = parse(s.schemaType(), s.schema(), s.references(), false);
    ParsedSchema prev = parsedById.putIfAbsent(id, p);
    return prev != null ? prev : p;
  }

  // ---------------------------------------------------------------- writes

  /** Registers (or finds) the request's schema under {@code subject}. */
  Registered register(String subject, Request req) {
    boolean normalize = req.normalize() || config(subject).path("normalize").asBoolean(false);
    ParsedSchema schema = parse(req.schemaType(), req.schema(), req.references(), normalize);
    return log.writeExclusive(() -> {
      synchronized (this) {
        String mode = effectiveMode(subject);
        if (mode.equals("READONLY") || mode.equals("READONLY_OVERRIDE")) {
          throw RegistryException.readOnly(subject);
        }
        boolean importing = req.id() != null && req.id() >= 0;
        if (importing && !mode.equals("IMPORT")) {
          throw RegistryException.notPermitted("Subject " + subject + " in context . is not in import mode");
        }
        if (!importing && !mode.equals("READWRITE")) {
          throw RegistryException.notPermitted("Subject " + subject + " in context . is not in read-write mode");
        }
        NavigableMap<Integer, Version> versions = subjects.getOrDefault(subject, new TreeMap<>());
        Version latestLive = latestLive(versions);
        ObjectNode config = config(subject);
        JsonNode metadata = merge(merge(config.get("defaultMetadata"),
            req.metadata() != null ? req.metadata() : latestLive == null ? null : schemaById.get(latestLive.id()).metadata()),
            config.get("overrideMetadata"));
        JsonNode ruleSet = mergeRuleSets(mergeRuleSets(config.get("defaultRuleSet"),
            req.ruleSet() != null ? req.ruleSet() : latestLive == null ? null : schemaById.get(latestLive.id()).ruleSet()),
            config.get("overrideRuleSet"));
        Stored stored = new Stored(schema.schemaType(), schema.canonicalString(), req.references(), metadata, ruleSet);
        for (Version v : versions.values()) {
          if (!v.deleted() && stored.identity().equals(schemaById.get(v.id()).identity())
              && (!importing || req.id().equals(v.id()))) {
            return new SchemaLog.Decision<>(List.of(), new Registered(v.id(), v.version(), stored));
          }
        }
        if (!importing) {
          CompatibilityLevel level = CompatibilityLevel.parse(effectiveLevel(subject));
          String group = config.path("compatibilityGroup").asText(null);
          List<String> problems = level.check(schema, liveParsed(versions, group, metadata));
          if (!problems.isEmpty()) {
            throw RegistryException.incompatible(subject, problems);
          }
        }
        Integer known = idByIdentity.get(stored.identity());
        int id;
        if (importing) {
          id = req.id();
          Stored existing = schemaById.get(id);
          if (existing != null && !existing.identity().equals(stored.identity())) {
            throw RegistryException.notPermitted("Overwrite new schema with id " + id
                + " in context . is not permitted.");
          }
        } else {
          id = known != null ? known : maxId + 1;
        }
        int version;
        if (req.version() != null && req.version() > 0) {
          version = req.version();
          Version taken = versions.get(version);
          if (taken != null && taken.id() != id) {
            throw RegistryException.notPermitted("Overwrite new schema with version " + version
                + " of subject " + subject + " is not permitted.");
          }
        } else {
          version = versions.isEmpty() ? 1 : versions.lastKey() + 1;
        }
        List<SchemaLog.Entry> entries = new ArrayList<>();
        entries.add(schemaEntry(subject, version, id, stored, false));
        if (id > maxId) {
          entries.add(new SchemaLog.Entry("{\"keytype\":\"ID_WATERMARK\",\"magic\":0}",
              "{\"max_id\":" + id + "}"));
        }
        return new SchemaLog.Decision<>(entries, new Registered(id, version, stored));
      }
    });
  }

  /** Soft or permanent delete of a whole subject; returns the versions deleted. */
  List<Integer> deleteSubject(String subject, boolean permanent) {
    return log.writeExclusive(() -> {
      synchronized (this) {
        checkWritable(subject);
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
              checkNotReferenced(v, false, subject);
              entries.add(schemaEntry(subject, v.version(), v.id(), schemaById.get(v.id()), true));
              deleted.add(v.version());
            }
          }
        } else {
          if (anyLive) {
            throw RegistryException.subjectNotSoftDeleted(subject);
          }
          for (Version v : versions.descendingMap().values()) {
            checkNotReferenced(v, true, subject);
            entries.add(new SchemaLog.Entry(schemaKey(subject, v.version()), null));
          }
          versions.values().forEach(v -> deleted.add(v.version()));
          if (configs.containsKey(subject)) {
            entries.add(new SchemaLog.Entry(scopedKey("CONFIG", subject), null));
          }
          if (modes.containsKey(subject)) {
            entries.add(new SchemaLog.Entry(scopedKey("MODE", subject), null));
          }
        }
        return new SchemaLog.Decision<>(entries, deleted);
      }
    });
  }

  /** Soft or permanent delete of one version ("latest": the latest live one); returns the version number. */
  int deleteVersion(String subject, String versionText, boolean permanent) {
    return log.writeExclusive(() -> {
      synchronized (this) {
        checkWritable(subject);
        NavigableMap<Integer, Version> versions = subjects.get(subject);
        if (versions == null || versions.isEmpty()) {
          throw RegistryException.subjectNotFound(subject);
        }
        Version v = isLatest(versionText) && !permanent
            ? findVersion(subject, versions, versionText, false)
            : findVersion(subject, versions, versionText, true);
        if (!permanent) {
          if (v.deleted()) {
            throw RegistryException.versionSoftDeleted(subject, v.version());
          }
          checkNotReferenced(v, false, null);
          return new SchemaLog.Decision<>(List.of(
              schemaEntry(subject, v.version(), v.id(), schemaById.get(v.id()), true)), v.version());
        }
        if (!v.deleted()) {
          throw RegistryException.versionNotSoftDeleted(subject, v.version());
        }
        checkNotReferenced(v, true, null);
        List<SchemaLog.Entry> entries = new ArrayList<>();
        entries.add(new SchemaLog.Entry(schemaKey(subject, v.version()), null));
        if (versions.size() == 1) {
          if (configs.containsKey(subject)) {
            entries.add(new SchemaLog.Entry(scopedKey("CONFIG", subject), null));
          }
          if (modes.containsKey(subject)) {
            entries.add(new SchemaLog.Entry(scopedKey("MODE", subject), null));
          }
        }
        return new SchemaLog.Decision<>(entries, v.version());
      }
    });
  }

  private void checkWritable(String subject) {
    String mode = effectiveMode(subject);
    if (mode.equals("READONLY") || mode.equals("READONLY_OVERRIDE")) {
      throw RegistryException.readOnly(subject);
    }
  }

  /** Refuses (42206) when a version of another schema references {@code v}; soft-deleted referrers count for a permanent delete. */
  private void checkNotReferenced(Version v, boolean includeDeleted, String ignoreSubject) {
    for (Version r : referencedBy(v.subject(), v.version(), includeDeleted)) {
      if (ignoreSubject == null || !r.subject().equals(ignoreSubject)) {
        throw RegistryException.referenceExists(v.subject(), v.version());
      }
    }
  }

  /** Sets the global ({@code subject} empty) or a subject's config; returns what was set. */
  ObjectNode setConfig(Optional<String> subject, JsonNode body) {
    ObjectNode update = JSON.createObjectNode();
    JsonNode level = body.has("compatibility") ? body.get("compatibility") : body.get("compatibilityLevel");
    if (level != null && !level.isNull()) {
      update.put("compatibilityLevel", CompatibilityLevel.parse(level.asText()).name());
    }
    Iterator<Map.Entry<String, JsonNode>> it = body.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getKey().equals("compatibility") && !e.getKey().equals("compatibilityLevel") && !e.getValue().isNull()) {
        update.set(e.getKey(), e.getValue());
      }
    }
    if (update.isEmpty()) {
      throw RegistryException.invalidCompatibility("null");
    }
    String s = subject.orElse("");
    return log.writeExclusive(() -> {
      synchronized (this) {
        ObjectNode merged = configs.containsKey(s) ? configs.get(s).deepCopy() : JSON.createObjectNode();
        merged.setAll(update);
        ObjectNode answer = JSON.createObjectNode();
        if (update.has("compatibilityLevel")) {
          answer.put("compatibility", update.get("compatibilityLevel").asText());
        }
        update.fields().forEachRemaining(e -> {
          if (!e.getKey().equals("compatibilityLevel")) {
            answer.set(e.getKey(), e.getValue());
          }
        });
        return new SchemaLog.Decision<>(List.of(new SchemaLog.Entry(scopedKey("CONFIG", s), merged.toString())), answer);
      }
    });
  }

  /** Removes a subject's (or the global) config; returns the config it had. */
  ObjectNode deleteConfig(String subject) {
    return log.writeExclusive(() -> {
      synchronized (this) {
        ObjectNode had = configs.get(subject);
        if (had == null) {
          if (subject.isEmpty()) {
            return new SchemaLog.Decision<>(List.of(), shownConfig(""));
          }
          throw RegistryException.subjectConfigNotFound(subject);
        }
        return new SchemaLog.Decision<>(List.of(new SchemaLog.Entry(scopedKey("CONFIG", subject), null)),
            shown(had));
      }
    });
  }

  /** Sets a mode; IMPORT needs an empty registry (or subject) unless {@code force}. */
  String setMode(String subject, String modeText, boolean force) {
    String mode = modeText == null ? "" : modeText.trim().toUpperCase(Locale.ROOT);
    if (!MODES.contains(mode)) {
      throw RegistryException.invalidMode();
    }
    if (mode.equals("FORWARD") && !subject.isEmpty()) {
      throw new RegistryException(422, 42204, "Forward mode only supported on global level");
    }
    return log.writeExclusive(() -> {
      synchronized (this) {
        if (mode.equals("IMPORT") && !effectiveMode(subject).equals("IMPORT") && !force) {
          boolean any = subjects.entrySet().stream()
              .filter(e -> subject.isEmpty() || e.getKey().equals(subject))
              .anyMatch(e -> e.getValue().values().stream().anyMatch(v -> !v.deleted()));
          if (any) {
            throw RegistryException.notPermitted("Cannot import since found existing subjects");
          }
        }
        return new SchemaLog.Decision<>(List.of(new SchemaLog.Entry(scopedKey("MODE", subject),
            "{\"mode\":\"" + mode + "\"}")), mode);
      }
    });
  }

  String deleteMode(String subject) {
    return log.writeExclusive(() -> {
      synchronized (this) {
        String had = modes.get(subject);
        if (had == null) {
          if (subject.isEmpty()) {
            return new SchemaLog.Decision<>(List.of(), DEFAULT_MODE);
          }
          throw RegistryException.subjectModeNotFound(subject);
        }
        return new SchemaLog.Decision<>(List.of(new SchemaLog.Entry(scopedKey("MODE", subject), null)), had);
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

  /** The latest version whose metadata properties hold all of {@code properties}. */
  synchronized Version latestWithMetadata(String subject, Map<String, String> properties, boolean includeDeleted) {
    NavigableMap<Integer, Version> versions = liveOrAll(subject, includeDeleted);
    for (Version v : versions.descendingMap().values()) {
      if (!includeDeleted && v.deleted()) {
        continue;
      }
      JsonNode props = Optional.ofNullable(schemaById.get(v.id()).metadata())
          .map(m -> m.path("properties")).orElse(JSON.missingNode());
      if (properties.entrySet().stream().allMatch(p -> p.getValue().equals(props.path(p.getKey()).asText(null)))) {
        return v;
      }
    }
    throw RegistryException.schemaNotFound();
  }

  /**
   * The version of {@code subject} holding the request's schema: the same schema, metadata and
   * rule set; else with metadata and rule set inherited from the latest version, as a
   * registration would; else the same schema whatever its metadata.
   */
  Version lookup(String subject, Request req, boolean includeDeleted) {
    boolean normalize = req.normalize() || config(subject).path("normalize").asBoolean(false);
    ParsedSchema schema = parse(req.schemaType(), req.schema(), req.references(), normalize);
    return read(() -> {
      synchronized (this) {
        NavigableMap<Integer, Version> versions = liveOrAll(subject, includeDeleted);
        Version latest = latestLive(versions);
        Stored exact = new Stored(schema.schemaType(), schema.canonicalString(), req.references(),
            req.metadata(), req.ruleSet());
        Stored inherited = latest == null ? exact : new Stored(exact.schemaType(), exact.schema(), exact.references(),
            req.metadata() != null ? req.metadata() : schemaById.get(latest.id()).metadata(),
            req.ruleSet() != null ? req.ruleSet() : schemaById.get(latest.id()).ruleSet());
        for (Stored wanted : List.of(exact, inherited)) {
          Version found = latestMatching(versions, includeDeleted, s -> s.identity().equals(wanted.identity()));
          if (found != null) {
            return found;
          }
        }
        Version loose = latestMatching(versions, includeDeleted,
            s -> s.identityIgnoringMetadata().equals(exact.identityIgnoringMetadata()));
        if (loose != null) {
          return loose;
        }
        throw RegistryException.schemaNotFound();
      }
    });
  }

  private Version latestMatching(NavigableMap<Integer, Version> versions, boolean includeDeleted,
      java.util.function.Predicate<Stored> p) {
    for (Version v : versions.descendingMap().values()) {
      if ((includeDeleted || !v.deleted()) && p.test(schemaById.get(v.id()))) {
        return v;
      }
    }
    return null;
  }

  /** A Protobuf schema as a base64 serialized FileDescriptorProto (Confluent's {@code format=serialized}). */
  String serializedProtobuf(int id) {
    ParsedSchema p = parsed(id);
    return p instanceof io.fractalrmo.registry.schema.ProtobufParsedSchema pp ? pp.serialized() : schemaText(id).schema();
  }

  /** The id of the schema with this GUID. */
  int idOfGuid(String guid) {
    Integer id = idByGuid.get(guid);
    if (id == null) {
      throw RegistryException.schemaNotFound(guid);
    }
    return id;
  }

  /** The schema with this id (hot path: no lock). */
  Stored schemaText(int id) {
    Stored s = schemaById.get(id);
    if (s == null) {
      throw RegistryException.schemaNotFound(id);
    }
    return s;
  }

  /** Every live schema (or each subject's latest), for {@code GET /schemas}. */
  synchronized List<Map.Entry<Version, Stored>> allSchemas(String prefix, boolean includeDeleted, boolean latestOnly) {
    List<Map.Entry<Version, Stored>> out = new ArrayList<>();
    for (Map.Entry<String, NavigableMap<Integer, Version>> e : new TreeMap<>(subjects).entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        continue;
      }
      List<Version> vs = new ArrayList<>();
      for (Version v : e.getValue().values()) {
        if (includeDeleted || !v.deleted()) {
          vs.add(v);
        }
      }
      if (latestOnly && !vs.isEmpty()) {
        vs = List.of(vs.get(vs.size() - 1));
      }
      for (Version v : vs) {
        out.add(Map.entry(v, schemaById.get(v.id())));
      }
    }
    return out;
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

  /** The ids of the versions whose references name {@code subject} {@code version}. */
  synchronized List<Integer> referencedByIds(String subject, String versionText) {
    Version target = version(subject, versionText, true);
    Set<Integer> ids = new TreeSet<>();
    referencedBy(target.subject(), target.version(), false).forEach(v -> ids.add(v.id()));
    return new ArrayList<>(ids);
  }

  private List<Version> referencedBy(String subject, int version, boolean includeDeleted) {
    List<Version> out = new ArrayList<>();
    for (NavigableMap<Integer, Version> vs : subjects.values()) {
      for (Version v : vs.values()) {
        if (!includeDeleted && v.deleted()) {
          continue;
        }
        for (SchemaReference r : schemaById.get(v.id()).references()) {
          if (r.subject().equals(subject) && r.version() == version) {
            out.add(v);
            break;
          }
        }
      }
    }
    return out;
  }

  synchronized ObjectNode shownConfig(String subject) {
    ObjectNode c = configs.get(subject);
    if (c == null && subject.isEmpty()) {
      ObjectNode d = JSON.createObjectNode();
      d.put("compatibilityLevel", DEFAULT_LEVEL);
      return d;
    }
    return c == null ? null : shown(c);
  }

  private static ObjectNode shown(ObjectNode c) {
    ObjectNode out = c.deepCopy();
    if (!out.has("compatibilityLevel")) {
      ObjectNode withLevel = JSON.createObjectNode();
      withLevel.put("compatibilityLevel", DEFAULT_LEVEL);
      withLevel.setAll(out);
      return withLevel;
    }
    return out;
  }

  synchronized ObjectNode config(String subject) {
    ObjectNode c = configs.get(subject);
    if (c == null) {
      c = configs.get("");
    }
    return c == null ? JSON.createObjectNode() : c;
  }

  synchronized String globalLevel() {
    return Optional.ofNullable(configs.get("")).map(c -> c.path("compatibilityLevel").asText(null))
        .orElse(DEFAULT_LEVEL);
  }

  synchronized Optional<String> subjectLevel(String subject) {
    return Optional.ofNullable(configs.get(subject)).map(c -> c.path("compatibilityLevel").asText(null));
  }

  synchronized String effectiveLevel(String subject) {
    String own = subjectLevel(subject).orElse(null);
    return own != null ? own : globalLevel();
  }

  synchronized Optional<String> subjectMode(String subject) {
    return Optional.ofNullable(modes.get(subject));
  }

  synchronized String effectiveMode(String subject) {
    return modes.getOrDefault(subject, modes.getOrDefault("", DEFAULT_MODE));
  }

  /**
   * Compatibility of the request's schema with {@code versionText} of {@code subject} (null: all
   * live versions); "latest" under a transitive level checks every live version, as Confluent does.
   */
  List<String> testCompatibility(String subject, String versionText, Request req) {
    ParsedSchema schema = parse(req.schemaType(), req.schema(), req.references(), req.normalize());
    return read(() -> {
      synchronized (this) {
        NavigableMap<Integer, Version> versions = subjects.get(subject);
        CompatibilityLevel level = CompatibilityLevel.parse(effectiveLevel(subject));
        if (versions == null || versions.values().stream().allMatch(Version::deleted)) {
          if (versionText == null) {
            return List.of(); // nothing registered yet: anything is compatible
          }
          throw RegistryException.subjectNotFound(subject);
        }
        List<ParsedSchema> against;
        if (versionText == null || (level.transitive() && isLatest(versionText))) {
          against = liveParsed(versions);
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

  private static Version latestLive(NavigableMap<Integer, Version> versions) {
    for (Version v : versions.descendingMap().values()) {
      if (!v.deleted()) {
        return v;
      }
    }
    return null;
  }

  static boolean isLatest(String versionText) {
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
        throw RegistryException.versionNotFound(versionText);
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
      throw RegistryException.versionNotFound(n);
    }
    return v;
  }

  private List<ParsedSchema> liveParsed(NavigableMap<Integer, Version> versions) {
    return liveParsed(versions, null, null);
  }

  /** Live versions; with a compatibility group, only those whose metadata property {@code group} equals the new one's (Confluent's compatibilityGroup). */
  private List<ParsedSchema> liveParsed(NavigableMap<Integer, Version> versions, String group, JsonNode metadata) {
    String wanted = group == null || metadata == null ? null : metadata.path("properties").path(group).asText(null);
    List<ParsedSchema> out = new ArrayList<>();
    for (Version v : versions.values()) {
      if (v.deleted()) {
        continue;
      }
      if (group != null) {
        JsonNode md = schemaById.get(v.id()).metadata();
        String theirs = md == null ? null : md.path("properties").path(group).asText(null);
        if (!Objects.equals(wanted, theirs)) {
          continue;
        }
      }
      out.add(parsed(v.id()));
    }
    return out;
  }

  /** Metadata merge as Confluent's: properties and tags merged key by key, sensitive lists united. */
  static JsonNode merge(JsonNode base, JsonNode over) {
    if (base == null || base.isNull()) {
      return over == null || over.isNull() ? null : over;
    }
    if (over == null || over.isNull()) {
      return base;
    }
    ObjectNode out = base.deepCopy();
    for (String field : List.of("properties", "tags")) {
      if (over.has(field)) {
        ObjectNode m = out.has(field) && out.get(field).isObject() ? (ObjectNode) out.get(field) : out.putObject(field);
        m.setAll((ObjectNode) over.get(field));
      }
    }
    if (over.has("sensitive")) {
      Set<String> all = new TreeSet<>();
      out.path("sensitive").forEach(n -> all.add(n.asText()));
      over.path("sensitive").forEach(n -> all.add(n.asText()));
      ArrayNode a = out.putArray("sensitive");
      all.forEach(a::add);
    }
    return out;
  }

  /** Rule sets: the later one's rules replace the earlier one's of the same name, kind by kind. */
  static JsonNode mergeRuleSets(JsonNode base, JsonNode over) {
    if (base == null || base.isNull()) {
      return over == null || over.isNull() ? null : over;
    }
    if (over == null || over.isNull()) {
      return base;
    }
    ObjectNode out = base.deepCopy();
    for (String kind : List.of("migrationRules", "domainRules", "encodingRules")) {
      if (!over.has(kind)) {
        continue;
      }
      Map<String, JsonNode> byName = new LinkedHashMap<>();
      base.path(kind).forEach(r -> byName.put(r.path("name").asText(), r));
      over.path(kind).forEach(r -> byName.put(r.path("name").asText(), r));
      ArrayNode a = out.putArray(kind);
      byName.values().forEach(a::add);
    }
    return out;
  }

  static List<SchemaReference> references(JsonNode refs) {
    List<SchemaReference> out = new ArrayList<>();
    if (refs != null && refs.isArray()) {
      for (JsonNode r : refs) {
        if (!r.path("name").isTextual() || !r.path("subject").isTextual() || !r.path("version").canConvertToInt()) {
          throw RegistryException.invalidSchema(null, "a reference needs name, subject and version: " + r);
        }
        out.add(new SchemaReference(r.path("name").asText(), r.path("subject").asText(), r.path("version").asInt()));
      }
    }
    return out;
  }

  static ArrayNode referencesJson(List<SchemaReference> refs) {
    ArrayNode a = JSON.createArrayNode();
    for (SchemaReference r : refs) {
      a.addObject().put("name", r.name()).put("subject", r.subject()).put("version", r.version());
    }
    return a;
  }

  private static JsonNode nullIfMissing(JsonNode n) {
    return n == null || n.isNull() || n.isMissingNode() ? null : n;
  }

  private static String schemaKey(String subject, int version) {
    ObjectNode k = JSON.createObjectNode();
    k.put("keytype", "SCHEMA").put("subject", subject).put("version", version).put("magic", 1);
    return k.toString();
  }

  private static String scopedKey(String type, String subject) {
    ObjectNode k = JSON.createObjectNode();
    k.put("keytype", type);
    if (subject.isEmpty()) {
      k.putNull("subject");
    } else {
      k.put("subject", subject);
    }
    k.put("magic", 0);
    return k.toString();
  }

  private static SchemaLog.Entry schemaEntry(String subject, int version, int id, Stored s, boolean deleted) {
    ObjectNode v = JSON.createObjectNode();
    v.put("subject", subject);
    v.put("version", version);
    v.put("id", id);
    if (!Schemas.AVRO.equals(s.schemaType())) {
      v.put("schemaType", s.schemaType());
    }
    v.put("schema", s.schema());
    if (!s.references().isEmpty()) {
      v.set("references", referencesJson(s.references()));
    }
    if (s.metadata() != null) {
      v.set("metadata", s.metadata());
    }
    if (s.ruleSet() != null) {
      v.set("ruleSet", s.ruleSet());
    }
    v.put("deleted", deleted);
    return new SchemaLog.Entry(schemaKey(subject, version), v.toString());
  }

  private static JsonNode read(String json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static boolean sameReferences(List<SchemaReference> a, List<SchemaReference> b) {
    return Objects.equals(a, b);
  }
}
