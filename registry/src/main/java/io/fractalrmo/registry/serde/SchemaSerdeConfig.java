package io.fractalrmo.registry.serde;

import java.util.Map;

/**
 * Settings of the JSON Schema and Protobuf serdes, under Confluent's property names where
 * Confluent has one: {@code auto.register.schemas} (true), {@code use.latest.version} (false),
 * {@code latest.cache.ttl.sec}, {@code normalize.schemas}, {@code key|value.subject.name.strategy}
 * (TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy), {@code json.fail.invalid.schema}
 * (here true by default: a payload that does not validate is not written),
 * {@code json.key.type}/{@code json.value.type} (the class a JSON deserializer reads into, else
 * Jackson's JsonNode), {@code specific.protobuf.key.type}/{@code specific.protobuf.value.type}
 * (the generated class a Protobuf deserializer reads into, else DynamicMessage). Ours:
 * {@code json.key.schema}/{@code json.value.schema}, the JSON Schema text a serializer writes with
 * (Confluent's derives it from annotations on the class). Registry connection properties are
 * read by {@link io.fractalrmo.registry.client.RegistryClientConfig}.
 */
public final class SchemaSerdeConfig {

  public static final String AUTO_REGISTER_SCHEMAS = AvroSerdeConfig.AUTO_REGISTER_SCHEMAS;
  public static final String USE_LATEST_VERSION = AvroSerdeConfig.USE_LATEST_VERSION;
  public static final String LATEST_CACHE_TTL_SEC = AvroSerdeConfig.LATEST_CACHE_TTL_SEC;
  public static final String NORMALIZE_SCHEMAS = AvroSerdeConfig.NORMALIZE_SCHEMAS;
  public static final String JSON_FAIL_INVALID_SCHEMA = "json.fail.invalid.schema";
  public static final String JSON_KEY_TYPE = "json.key.type";
  public static final String JSON_VALUE_TYPE = "json.value.type";
  public static final String JSON_KEY_SCHEMA = "json.key.schema";
  public static final String JSON_VALUE_SCHEMA = "json.value.schema";
  public static final String SPECIFIC_PROTOBUF_KEY_TYPE = "specific.protobuf.key.type";
  public static final String SPECIFIC_PROTOBUF_VALUE_TYPE = "specific.protobuf.value.type";

  final boolean autoRegister;
  final boolean useLatestVersion;
  final long latestCacheTtlMillis;
  final boolean normalize;
  final boolean failInvalid;
  final AvroSerdeConfig.SubjectNameStrategy strategy;
  final Class<?> jsonType;
  final String jsonSchema;
  final Class<?> protobufType;
  final boolean isKey;

  SchemaSerdeConfig(Map<String, ?> props, boolean isKey) {
    this.isKey = isKey;
    this.autoRegister = bool(props, AUTO_REGISTER_SCHEMAS, true);
    this.useLatestVersion = bool(props, USE_LATEST_VERSION, false);
    this.latestCacheTtlMillis = AvroSerdeConfig.cacheTtlMillis(props);
    this.normalize = bool(props, NORMALIZE_SCHEMAS, false);
    this.failInvalid = bool(props, JSON_FAIL_INVALID_SCHEMA, true);
    Object strategyName = props.get(isKey ? AvroSerdeConfig.KEY_SUBJECT_NAME_STRATEGY
        : AvroSerdeConfig.VALUE_SUBJECT_NAME_STRATEGY);
    this.strategy = AvroSerdeConfig.SubjectNameStrategy.parse(strategyName);
    this.jsonType = type(props.get(isKey ? JSON_KEY_TYPE : JSON_VALUE_TYPE));
    Object schema = props.get(isKey ? JSON_KEY_SCHEMA : JSON_VALUE_SCHEMA);
    this.jsonSchema = schema == null ? null : schema.toString();
    this.protobufType = type(props.get(isKey ? SPECIFIC_PROTOBUF_KEY_TYPE : SPECIFIC_PROTOBUF_VALUE_TYPE));
  }

  /** The subject for {@code topic} and a record named {@code recordName}. */
  String subject(String topic, String recordName) {
    return strategy.subject(topic, isKey, recordName);
  }

  private static boolean bool(Map<String, ?> props, String key, boolean dflt) {
    return AvroSerdeConfig.bool(props, key, dflt);
  }

  private static Class<?> type(Object v) {
    return AvroSerdeConfig.type(v);
  }
}
