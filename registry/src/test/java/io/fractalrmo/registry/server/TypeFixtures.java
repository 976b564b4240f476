package io.fractalrmo.registry.server;

import java.util.List;

/**
 * Per schema type: a base schema and one changed schema for each kind of change, so the same
 * compatibility table can be asserted for AVRO, JSON and PROTOBUF. "backwardOnly": the new
 * schema reads old data, not the reverse; "forwardOnly": the reverse; "both": compatible both
 * ways; "breaking": neither. {@code base2} is incompatible with {@code base} both ways and
 * {@code base2Again} is {@code base2} with a change compatible both ways (for transitive levels).
 */
record TypeFixtures(String type, String base, String backwardOnly, String forwardOnly, String both,
    String breaking, String base2, String base2Again) {

  static final TypeFixtures AVRO = new TypeFixtures("AVRO",
      avro("{\"name\":\"a\",\"type\":\"string\"}"),
      avro(""), // a field removed: the new reader ignores it; an old reader misses it (no default)
      avro("{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"c\",\"type\":\"int\"}"),
      avro("{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\",\"default\":0}"),
      avro("{\"name\":\"a\",\"type\":\"int\"}"),
      avro("{\"name\":\"a\",\"type\":\"int\"}"),
      avro("{\"name\":\"a\",\"type\":\"int\",\"doc\":\"now documented\"}"));

  static final TypeFixtures JSON = new TypeFixtures("JSON",
      json("\"a\":{\"type\":\"string\"}"),
      json("\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}"), // optional property added to a closed model
      json(""), // property removed from a closed model
      json("\"a\":{\"type\":\"string\",\"description\":\"now documented\"}"),
      json("\"a\":{\"type\":\"integer\"}"),
      json("\"a\":{\"type\":\"integer\"}"),
      json("\"a\":{\"type\":\"integer\",\"title\":\"A\"}"));

  static List<TypeFixtures> all() {
    return List.of(AVRO, JSON, PROTOBUF);
  }

  /** Protobuf's forward-only change: a message type removed (its base has two messages). */
  static final TypeFixtures PROTOBUF = new TypeFixtures("PROTOBUF",
      proto("message R {\n  string a = 1;\n}\nmessage Extra {\n  int32 x = 1;\n}\n"),
      proto("message R {\n  string a = 1;\n}\nmessage Extra {\n  int32 x = 1;\n}\nmessage More {\n  int32 y = 1;\n}\n"),
      proto("message R {\n  string a = 1;\n}\n"),
      proto("message R {\n  string a = 1;\n  int64 b = 2;\n}\nmessage Extra {\n  int32 x = 1;\n}\n"),
      proto("message R {\n  int64 a = 1;\n}\nmessage Extra {\n  int32 x = 1;\n}\n"),
      proto("message R {\n  int64 a = 1;\n}\nmessage Extra {\n  int32 x = 1;\n}\n"),
      proto("message R {\n  int64 a = 1;\n  bool flag = 3;\n}\nmessage Extra {\n  int32 x = 1;\n}\n"));

  static TypeFixtures of(String type) {
    return switch (type) {
      case "AVRO" -> AVRO;
      case "JSON" -> JSON;
      default -> PROTOBUF;
    };
  }

  static String avro(String fields) {
    return "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[" + fields + "]}";
  }

  static String json(String properties) {
    return "{\"type\":\"object\",\"properties\":{" + properties + "},\"additionalProperties\":false}";
  }

  static String proto(String body) {
    return "syntax = \"proto3\";\npackage t;\n\n" + body;
  }
}
