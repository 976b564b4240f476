package io.fractalrmo.registry.serde;

import io.fractalrmo.registry.client.RegistryClientConfig;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.kafka.common.config.ConfigException;

/**
 * The serde's settings, under Confluent's property names so that an existing client
 * configuration carries over unchanged. Registry connection properties
 * ({@code schema.registry.url}, {@code basic.auth.*}, {@code schema.registry.ssl.*}) are read by
 * {@link RegistryClientConfig}.
 */
public final class AvroSerdeConfig {

  public static final String SCHEMA_REGISTRY_URL = RegistryClientConfig.SCHEMA_REGISTRY_URL;
  public static final String BASIC_AUTH_CREDENTIALS_SOURCE = RegistryClientConfig.BASIC_AUTH_CREDENTIALS_SOURCE;
  public static final String BASIC_AUTH_USER_INFO = RegistryClientConfig.BASIC_AUTH_USER_INFO;
  /** Register the record's schema on first use (default true). */
  public static final String AUTO_REGISTER_SCHEMAS = "auto.register.schemas";
  /** Write with the subject's latest registered schema instead of the record's (default false). */
  public static final String USE_LATEST_VERSION = "use.latest.version";
  /** How long the latest version is cached, in seconds; -1 (default) = for the serde's life. */
  public static final String LATEST_CACHE_TTL_SEC = "latest.cache.ttl.sec";
  /** Ask the registry to normalize the schema before comparing (default false). */
  public static final String NORMALIZE_SCHEMAS = "normalize.schemas";
  /** Read into generated SpecificRecord classes instead of GenericRecord (default false). */
  public static final String SPECIFIC_AVRO_READER = "specific.avro.reader";
  /** The generated class a key deserializer reads into (any writer schema is resolved to it). */
  public static final String SPECIFIC_AVRO_KEY_TYPE = "specific.avro.key.type";
  /** The generated class a value deserializer reads into (any writer schema is resolved to it). */
  public static final String SPECIFIC_AVRO_VALUE_TYPE = "specific.avro.value.type";
  public static final String KEY_SUBJECT_NAME_STRATEGY = "key.subject.name.strategy";
  public static final String VALUE_SUBJECT_NAME_STRATEGY = "value.subject.name.strategy";

  /** Confluent's subject naming strategies, recognised by their simple or fully qualified class name. */
  public enum SubjectNameStrategy {
    /** {@code <topic>-key} / {@code <topic>-value} (the default). */
    TOPIC_NAME,
    /** The record's full name. */
    RECORD_NAME,
    /** {@code <topic>-<record full name>}. */
    TOPIC_RECORD_NAME;

    static SubjectNameStrategy parse(Object value) {
      if (value == null) {
        return TOPIC_NAME;
      }
      String name = value instanceof Class<?> c ? c.getName() : value.toString();
      String simple = name.substring(name.lastIndexOf('.') + 1);
      return switch (simple) {
        case "TopicNameStrategy" -> TOPIC_NAME;
        case "RecordNameStrategy" -> RECORD_NAME;
        case "TopicRecordNameStrategy" -> TOPIC_RECORD_NAME;
        default -> throw new ConfigException("unsupported subject name strategy " + name);
      };
    }

    public String subject(String topic, boolean isKey, Schema schema) {
      return subject(topic, isKey, schema.getFullName());
    }

    /** The subject for {@code topic} and a schema whose full name is {@code recordName}. */
    public String subject(String topic, boolean isKey, String recordName) {
      return switch (this) {
        case TOPIC_NAME -> topic + (isKey ? "-key" : "-value");
        case RECORD_NAME -> recordName;
        case TOPIC_RECORD_NAME -> topic + "-" + recordName;
      };
    }
  }

  final boolean autoRegister;
  final boolean useLatestVersion;
  final long latestCacheTtlMillis;
  final boolean normalize;
  final boolean specificReader;
  final SubjectNameStrategy subjectNameStrategy;
  final Class<?> readerType;

  AvroSerdeConfig(Map<String, ?> props, boolean isKey) {
    this.autoRegister = bool(props, AUTO_REGISTER_SCHEMAS, true);
    this.useLatestVersion = bool(props, USE_LATEST_VERSION, false);
    this.latestCacheTtlMillis = cacheTtlMillis(props);
    this.normalize = bool(props, NORMALIZE_SCHEMAS, false);
    this.specificReader = bool(props, SPECIFIC_AVRO_READER, false);
    this.subjectNameStrategy = SubjectNameStrategy.parse(
        props.get(isKey ? KEY_SUBJECT_NAME_STRATEGY : VALUE_SUBJECT_NAME_STRATEGY));
    this.readerType = type(props.get(isKey ? SPECIFIC_AVRO_KEY_TYPE : SPECIFIC_AVRO_VALUE_TYPE));
  }

  /** {@code latest.cache.ttl.sec} in milliseconds; -1: for the serde's life. */
  static long cacheTtlMillis(Map<String, ?> props) {
    Object ttl = props.get(LATEST_CACHE_TTL_SEC);
    long ttlSec = ttl == null ? -1 : Long.parseLong(ttl.toString().trim());
    return ttlSec < 0 ? -1 : ttlSec * 1000;
  }

  /** A boolean setting, strictly true or false. */
  static boolean bool(Map<String, ?> props, String key, boolean dflt) {
    Object v = props.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    String s = v.toString().trim();
    if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) {
      return Boolean.parseBoolean(s);
    }
    throw new ConfigException(key, v, "must be true or false");
  }

  /** A class setting: a Class, or a class name loaded by the context (else this) class loader. */
  static Class<?> type(Object v) {
    if (v == null) {
      return null;
    }
    if (v instanceof Class<?> c) {
      return c;
    }
    try {
      ClassLoader cl = Thread.currentThread().getContextClassLoader() != null
          ? Thread.currentThread().getContextClassLoader() : AvroSerdeConfig.class.getClassLoader();
      return Class.forName(v.toString().trim(), true, cl);
    } catch (ClassNotFoundException e) {
      throw new ConfigException("class " + v + " not found");
    }
  }
}
