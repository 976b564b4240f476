package io.fractalrmo.registry.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * AVRO, JSON and PROTOBUF through Confluent's REST API: register, look-up by id, subject and
 * version, evolution at each of the seven levels, references, metadata, normalize, delete of
 * 'latest', modes — with Confluent's status codes and error codes. In-memory store (the
 * Kafka-backed one runs the same SchemaStore; see SchemaRegistryServerTest).
 */
class MultiTypeRegistryTest {

  static SchemaRegistryServer server;
  static Http http;
  String subject;

  @BeforeAll
  static void up() {
    server = SchemaRegistryServer.startInMemory(0);
    http = new Http(server.url());
  }

  @AfterAll
  static void down() {
    server.close();
  }

  @BeforeEach
  void freshSubject() {
    subject = "mt-" + UUID.randomUUID();
  }

  static String body(String type, String schema) {
    return body(type, schema, null);
  }

  static String body(String type, String schema, ArrayNode references) {
    ObjectNode b = Http.JSON.createObjectNode().put("schema", schema);
    if (!type.equals("AVRO")) {
      b.put("schemaType", type);
    }
    if (references != null) {
      b.set("references", references);
    }
    return b.toString();
  }

  static ArrayNode ref(String name, String subject, int version) {
    ArrayNode a = Http.JSON.createArrayNode();
    a.addObject().put("name", name).put("subject", subject).put("version", version);
    return a;
  }

  Http.Response register(String subj, String type, String schema) {
    return http.post("/subjects/" + subj + "/versions", body(type, schema));
  }

  int registerOk(String subj, String type, String schema) {
    Http.Response r = register(subj, type, schema);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    return r.json().get("id").asInt();
  }

  @Nested
  class RegisterAndLookUp {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"AVRO", "JSON", "PROTOBUF"})
    void shouldRegisterAndFindTheSchemaByIdSubjectAndVersion(String type) {
      TypeFixtures f = TypeFixtures.of(type);
      Http.Response r = register(subject, type, f.base());
      assertThat(r.status()).as(r.text()).isEqualTo(200);
      int id = r.json().get("id").asInt();
      assertThat(r.json().get("version").asInt()).isEqualTo(1);
      assertThat(registerOk(subject, type, f.base())).as("same schema, same id").isEqualTo(id);
      assertThat(registerOk("other-" + subject, type, f.base())).as("same schema under another subject").isEqualTo(id);

      JsonNode byId = http.get("/schemas/ids/" + id).json();
      if (type.equals("AVRO")) {
        assertThat(byId.has("schemaType")).as("AVRO leaves schemaType out, as Confluent does").isFalse();
      } else {
        assertThat(byId.get("schemaType").asText()).isEqualTo(type);
      }
      Http.Response raw = http.get("/schemas/ids/" + id + "/schema");
      assertThat(raw.status()).isEqualTo(200);
      assertThat(raw.text()).isEqualTo(byId.get("schema").asText());

      JsonNode v1 = http.get("/subjects/" + subject + "/versions/1").json();
      assertThat(v1.get("id").asInt()).isEqualTo(id);
      assertThat(v1.path("schemaType").asText("AVRO")).isEqualTo(type);
      assertThat(http.get("/subjects/" + subject + "/versions/latest/schema").text()).isEqualTo(raw.text());

      Http.Response lookup = http.post("/subjects/" + subject, body(type, f.base()));
      assertThat(lookup.status()).as(lookup.text()).isEqualTo(200);
      assertThat(lookup.json().get("id").asInt()).isEqualTo(id);
      assertThat(lookup.json().get("version").asInt()).isEqualTo(1);
      Http.Response unknown = http.post("/subjects/" + subject, body(type, f.both()));
      assertThat(unknown.status()).isEqualTo(404);
      assertThat(unknown.errorCode()).isEqualTo(40403);

      String guid = r.json().get("guid").asText();
      assertThat(http.get("/schemas/guids/" + guid).json().get("schema").asText()).isEqualTo(raw.text());
      assertThat(http.get("/schemas/guids/" + guid + "/ids").json().get("id").asInt()).isEqualTo(id);
      assertThat(v1.get("guid").asText()).isEqualTo(guid);
      assertThat(byId.has("guid")).as("as Confluent, /schemas/ids answers no guid").isFalse();
      assertThat(http.get("/schemas/guids/" + UUID.randomUUID()).errorCode()).isEqualTo(40403);

      assertThat(http.get("/schemas/ids/" + id + "/subjects").json().toString())
          .contains("\"" + subject + "\"").contains("\"other-" + subject + "\"");
      assertThat(http.get("/schemas?subjectPrefix=" + subject).json().get(0).get("id").asInt()).isEqualTo(id);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"AVRO", "JSON", "PROTOBUF"})
    void shouldRefuseAnInvalidSchemaWith42201(String type) {
      String invalid = switch (type) {
        case "AVRO" -> "{\"type\":\"record\",\"name\":\"X\"}";
        case "JSON" -> "{\"type\":\"no-such-type\"}";
        default -> "syntax = \"proto3\";\nmessage M {\n  Unknown u = 1;\n}\n";
      };
      Http.Response r = register(subject, type, invalid);
      assertThat(r.status()).as(r.text()).isEqualTo(422);
      assertThat(r.errorCode()).isEqualTo(42201);
      Http.Response badType = http.post("/subjects/" + subject + "/versions",
          "{\"schemaType\":\"XML\",\"schema\":\"<x/>\"}");
      assertThat(badType.errorCode()).isEqualTo(42201);
    }

    @Test
    void shouldGiveOneIdToSchemasThatNormalizeAlikeWhenAsked() {
      String avroA = "{\"type\":\"record\",\"name\":\"N\",\"namespace\":\"n\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}";
      String avroB = "{\"fields\":[{\"type\":\"int\",\"name\":\"x\"}],\"name\":\"n.N\",\"type\":\"record\"}";
      String jsonA = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}";
      String jsonB = "{\"properties\":{\"x\":{\"type\":\"integer\"}},\"type\":\"object\"}";
      String protoA = "syntax = \"proto3\";\nmessage N {\n  int32 x = 1;\n  string y = 2;\n}\n";
      String protoB = "syntax = \"proto3\";\nmessage N {\n  string y = 2;\n  int32 x = 1;\n}\n";
      for (String[] pair : List.of(new String[] {"AVRO", avroA, avroB}, new String[] {"JSON", jsonA, jsonB},
          new String[] {"PROTOBUF", protoA, protoB})) {
        String s = subject + "-" + pair[0];
        int a = http.post("/subjects/" + s + "/versions?normalize=true", body(pair[0], pair[1])).json().get("id").asInt();
        Http.Response b = http.post("/subjects/" + s + "/versions?normalize=true", body(pair[0], pair[2]));
        assertThat(b.json().get("id").asInt()).as(pair[0] + " " + b.text()).isEqualTo(a);
        assertThat(http.get("/subjects/" + s + "/versions").json().toString()).isEqualTo("[1]");
        assertThat(http.post("/subjects/" + s + "?normalize=true", body(pair[0], pair[2])).json().get("version").asInt())
            .isEqualTo(1);
      }
    }
  }

  static Stream<Arguments> levels() {
    List<Arguments> out = new ArrayList<>();
    for (String type : List.of("AVRO", "JSON", "PROTOBUF")) {
      // change       | NONE | BACKWARD(_T) | FORWARD(_T) | FULL(_T)
      out.add(Arguments.of(type, "backwardOnly", true, true, false, false));
      out.add(Arguments.of(type, "forwardOnly", true, false, true, false));
      out.add(Arguments.of(type, "both", true, true, true, true));
      out.add(Arguments.of(type, "breaking", true, false, false, false));
    }
    return out.stream();
  }

  @Nested
  class Evolution {

    /** Every level, every type: the candidate against one registered version (transitive or not, same answer). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("io.fractalrmo.registry.server.MultiTypeRegistryTest#levels")
    void shouldAllowOrRefuseEachKindOfChangeAtEachLevel(String type, String change, boolean none,
        boolean backward, boolean forward, boolean full) {
      TypeFixtures f = TypeFixtures.of(type);
      String candidate = switch (change) {
        case "backwardOnly" -> f.backwardOnly();
        case "forwardOnly" -> f.forwardOnly();
        case "both" -> f.both();
        default -> f.breaking();
      };
      String[][] expectations = {
          {"NONE", String.valueOf(none)},
          {"BACKWARD", String.valueOf(backward)}, {"BACKWARD_TRANSITIVE", String.valueOf(backward)},
          {"FORWARD", String.valueOf(forward)}, {"FORWARD_TRANSITIVE", String.valueOf(forward)},
          {"FULL", String.valueOf(full)}, {"FULL_TRANSITIVE", String.valueOf(full)}};
      for (String[] e : expectations) {
        String s = subject + "-" + e[0];
        http.put("/config/" + s, "{\"compatibility\":\"" + e[0] + "\"}");
        registerOk(s, type, f.base());
        boolean accepted = Boolean.parseBoolean(e[1]);
        Http.Response test = http.post("/compatibility/subjects/" + s + "/versions/latest?verbose=true", body(type, candidate));
        assertThat(test.json().get("is_compatible").asBoolean()).as(e[0] + ": " + test.text()).isEqualTo(accepted);
        if (!accepted && !e[0].equals("NONE")) {
          assertThat(test.json().get("messages").size()).as("verbose messages").isPositive();
        }
        Http.Response r = register(s, type, candidate);
        assertThat(r.status()).as(e[0] + ": " + r.text()).isEqualTo(accepted ? 200 : 409);
        if (!accepted) {
          assertThat(r.errorCode()).isEqualTo(409);
        }
      }
    }

    /** A transitive level also checks the first version; the plain one only the latest. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("io.fractalrmo.registry.server.MultiTypeRegistryTest#transitivePairs")
    void shouldCheckEveryLiveVersionOnlyAtTransitiveLevels(String type, String level) {
      TypeFixtures f = TypeFixtures.of(type);
      http.put("/config/" + subject, "{\"compatibility\":\"NONE\"}");
      registerOk(subject, type, f.base());
      registerOk(subject, type, f.base2()); // breaks with the first, registered under NONE
      http.put("/config/" + subject, "{\"compatibility\":\"" + level + "\"}");
      boolean transitive = level.endsWith("_TRANSITIVE");
      Http.Response r = register(subject, type, f.base2Again());
      assertThat(r.status()).as(level + ": " + r.text()).isEqualTo(transitive ? 409 : 200);
      // the compatibility endpoint without a version answers as a registration would
      assertThat(http.post("/compatibility/subjects/" + subject + "/versions", body(type, f.base2Again()))
          .json().get("is_compatible").asBoolean()).isEqualTo(!transitive);
    }
  }

  static Stream<Arguments> transitivePairs() {
    List<Arguments> out = new ArrayList<>();
    for (String type : List.of("AVRO", "JSON", "PROTOBUF")) {
      for (String level : List.of("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
          "FULL_TRANSITIVE")) {
        out.add(Arguments.of(type, level));
      }
    }
    return out.stream();
  }

  static String refFixture(String type, boolean user) {
    return switch (type) {
      case "AVRO" -> user
          ? "{\"type\":\"record\",\"name\":\"Customer\",\"namespace\":\"t\",\"fields\":[{\"name\":\"home\",\"type\":\"t.Address\"}]}"
          : "{\"type\":\"record\",\"name\":\"Address\",\"namespace\":\"t\",\"fields\":[{\"name\":\"city\",\"type\":\"string\"}]}";
      case "JSON" -> user
          ? "{\"type\":\"object\",\"properties\":{\"home\":{\"$ref\":\"address.json\"}},\"required\":[\"home\"]}"
          : "{\"$id\":\"address.json\",\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}";
      default -> user
          ? "syntax = \"proto3\";\npackage t;\nimport \"t/address.proto\";\nmessage Customer {\n  Address home = 1;\n}\n"
          : "syntax = \"proto3\";\npackage t;\nmessage Address {\n  string city = 1;\n}\n";
    };
  }

  static String refName(String type) {
    return switch (type) {
      case "AVRO" -> "t.Address";
      case "JSON" -> "address.json";
      default -> "t/address.proto";
    };
  }

  @Nested
  class References {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"AVRO", "JSON", "PROTOBUF"})
    void shouldRegisterWithReferencesListReferrersAndRefuseToDeleteAReferencedVersion(String type) {
      String addresses = subject + "-address";
      String customers = subject + "-customer";
      registerOk(addresses, type, refFixture(type, false));
      Http.Response missing = http.post("/subjects/" + customers + "/versions", body(type, refFixture(type, true)));
      assertThat(missing.status()).as("a reference that is not given: " + missing.text()).isEqualTo(422);
      assertThat(missing.errorCode()).isEqualTo(42201);
      Http.Response badRef = http.post("/subjects/" + customers + "/versions",
          body(type, refFixture(type, true), ref(refName(type), addresses, 9)));
      assertThat(badRef.errorCode()).as("a reference to a missing version").isEqualTo(42201);

      ArrayNode refs = ref(refName(type), addresses, 1);
      Http.Response r = http.post("/subjects/" + customers + "/versions", body(type, refFixture(type, true), refs));
      assertThat(r.status()).as(r.text()).isEqualTo(200);
      int id = r.json().get("id").asInt();
      JsonNode version = http.get("/subjects/" + customers + "/versions/1").json();
      assertThat(version.get("references")).isEqualTo(refs);
      assertThat(http.get("/schemas/ids/" + id).json().get("references")).isEqualTo(refs);
      Http.Response lookup = http.post("/subjects/" + customers, body(type, refFixture(type, true), refs));
      assertThat(lookup.json().get("id").asInt()).as(lookup.text()).isEqualTo(id);
      assertThat(http.get("/subjects/" + addresses + "/versions/1/referencedby").json().toString()).isEqualTo("[" + id + "]");

      Http.Response refused = http.delete("/subjects/" + addresses + "/versions/1");
      assertThat(refused.status()).isEqualTo(422);
      assertThat(refused.errorCode()).isEqualTo(42206);
      assertThat(refused.json().get("message").asText()).isEqualTo("One or more references exist to the schema "
          + "{magic=1,keytype=SCHEMA,subject=" + addresses + ",version=1}.");
      assertThat(http.delete("/subjects/" + addresses).errorCode()).isEqualTo(42206);
      // once the referrer is gone (soft-deleted, then permanently), the referenced version may go
      assertThat(http.delete("/subjects/" + customers).status()).isEqualTo(200);
      assertThat(http.delete("/subjects/" + addresses + "/versions/1").status()).as("referrer soft-deleted").isEqualTo(200);
      assertThat(http.delete("/subjects/" + addresses + "/versions/1?permanent=true").errorCode())
          .as("a soft-deleted referrer still blocks a permanent delete").isEqualTo(42206);
      assertThat(http.delete("/subjects/" + customers + "?permanent=true").status()).isEqualTo(200);
      assertThat(http.delete("/subjects/" + addresses + "/versions/1?permanent=true").status()).isEqualTo(200);
    }
  }

  @Nested
  class Metadata {

    @Test
    void shouldStoreMetadataAndRuleSetInheritThemAndFindTheLatestByMetadata() {
      String v1 = TypeFixtures.AVRO.base();
      ObjectNode b1 = (ObjectNode) Http.JSON.createObjectNode().put("schema", v1);
      b1.putObject("metadata").putObject("properties").put("owner", "alice").put("app.version", "1");
      b1.putObject("ruleSet").putArray("domainRules").addObject().put("name", "checkA").put("kind", "CONDITION")
          .put("type", "CEL").put("mode", "WRITE").put("expr", "message.a != ''");
      Http.Response r1 = http.post("/subjects/" + subject + "/versions", b1.toString());
      assertThat(r1.status()).as(r1.text()).isEqualTo(200);
      JsonNode got = http.get("/subjects/" + subject + "/versions/1").json();
      assertThat(got.get("metadata")).isEqualTo(b1.get("metadata"));
      assertThat(got.get("ruleSet")).isEqualTo(b1.get("ruleSet"));
      assertThat(http.get("/schemas/ids/" + r1.json().get("id").asInt()).json().get("metadata")).isEqualTo(b1.get("metadata"));

      // a new version without metadata inherits the previous version's, as Confluent does
      Http.Response r2 = register(subject, "AVRO", TypeFixtures.AVRO.both());
      assertThat(r2.status()).as(r2.text()).isEqualTo(200);
      assertThat(http.get("/subjects/" + subject + "/versions/2").json().get("metadata")).isEqualTo(b1.get("metadata"));
      // the same schema with other metadata is another schema: a new id
      ObjectNode b3 = (ObjectNode) Http.JSON.createObjectNode().put("schema", TypeFixtures.AVRO.both());
      b3.putObject("metadata").putObject("properties").put("owner", "bob").put("app.version", "2");
      Http.Response r3 = http.post("/subjects/" + subject + "/versions", b3.toString());
      assertThat(r3.json().get("id").asInt()).isNotEqualTo(r2.json().get("id").asInt());
      assertThat(r3.json().get("version").asInt()).isEqualTo(3);

      assertThat(http.get("/subjects/" + subject + "/metadata?key=owner&value=alice").json().get("version").asInt())
          .isEqualTo(2);
      assertThat(http.get("/subjects/" + subject + "/metadata?key=owner&value=bob&key=app.version&value=2")
          .json().get("version").asInt()).isEqualTo(3);
      assertThat(http.get("/subjects/" + subject + "/metadata?key=owner&value=carol").errorCode()).isEqualTo(40403);
      // look-up without metadata finds the version a registration would have produced
      assertThat(http.post("/subjects/" + subject, body("AVRO", TypeFixtures.AVRO.both())).json().get("version").asInt())
          .isEqualTo(3);
    }

    @Test
    void shouldCheckCompatibilityOnlyWithinACompatibilityGroup() {
      http.put("/config/" + subject, "{\"compatibility\":\"BACKWARD\",\"compatibilityGroup\":\"major\"}");
      assertThat(http.get("/config/" + subject).json().get("compatibilityGroup").asText()).isEqualTo("major");
      ObjectNode b1 = (ObjectNode) Http.JSON.createObjectNode().put("schema", TypeFixtures.AVRO.base());
      b1.putObject("metadata").putObject("properties").put("major", "1");
      assertThat(http.post("/subjects/" + subject + "/versions", b1.toString()).status()).isEqualTo(200);
      ObjectNode b2 = (ObjectNode) Http.JSON.createObjectNode().put("schema", TypeFixtures.AVRO.breaking());
      b2.putObject("metadata").putObject("properties").put("major", "1");
      assertThat(http.post("/subjects/" + subject + "/versions", b2.toString()).status()).isEqualTo(409);
      b2.putObject("metadata").putObject("properties").put("major", "2");
      assertThat(http.post("/subjects/" + subject + "/versions", b2.toString()).status()).as("a new group").isEqualTo(200);
    }
  }

  @Nested
  class Deletes {

    @Test
    void shouldSoftDeleteTheLatestLiveVersionAndPermanentlyDeleteTheLatestSoftDeletedOne() {
      registerOk(subject, "AVRO", TypeFixtures.AVRO.base());
      registerOk(subject, "AVRO", TypeFixtures.AVRO.both());
      assertThat(http.delete("/subjects/" + subject + "/versions/latest").text()).isEqualTo("2");
      assertThat(http.delete("/subjects/" + subject + "/versions/latest").text()).as("now the latest live is 1").isEqualTo("1");
      Http.Response none = http.delete("/subjects/" + subject + "/versions/latest");
      assertThat(none.status()).isEqualTo(404);
      assertThat(http.delete("/subjects/" + subject + "/versions/latest?permanent=true").text()).isEqualTo("2");
      assertThat(http.get("/subjects/" + subject + "/versions?deleted=true").json().toString()).isEqualTo("[1]");
      assertThat(http.get("/schemas?subjectPrefix=" + subject + "&deleted=true").json().size()).isEqualTo(1);
    }

    @Test
    void shouldAnswerConfluentsMessagesForSoftAndHardDeletes() {
      registerOk(subject, "AVRO", TypeFixtures.AVRO.base());
      http.delete("/subjects/" + subject + "/versions/1");
      assertThat(http.delete("/subjects/" + subject + "/versions/1").json().get("message").asText())
          .isEqualTo("Subject '" + subject + "' Version 1 was soft deleted.Set permanent=true to delete permanently");
      assertThat(http.get("/subjects/" + subject + "/versions/1").json().get("message").asText())
          .isEqualTo("Subject '" + subject + "' not found.");
      assertThat(http.get("/subjects/" + subject + "/versions/7?deleted=true").json().get("message").asText())
          .isEqualTo("Version 7 not found.");
      assertThat(http.get("/schemas/ids/999999").json().get("message").asText()).isEqualTo("Schema 999999 not found");
    }
  }

  @Nested
  class Modes {

    @Test
    void shouldRefuseWritesInReadOnlyModeWith42205() {
      registerOk(subject, "AVRO", TypeFixtures.AVRO.base());
      assertThat(http.put("/mode/" + subject, "{\"mode\":\"READONLY\"}").json().get("mode").asText()).isEqualTo("READONLY");
      assertThat(http.get("/mode/" + subject).json().get("mode").asText()).isEqualTo("READONLY");
      Http.Response r = register(subject, "AVRO", TypeFixtures.AVRO.both());
      assertThat(r.status()).isEqualTo(422);
      assertThat(r.errorCode()).isEqualTo(42205);
      assertThat(r.json().get("message").asText()).isEqualTo("Subject " + subject + " in context . is in read-only mode");
      assertThat(http.delete("/subjects/" + subject).errorCode()).isEqualTo(42205);
      assertThat(http.get("/subjects/" + subject + "/versions/1").status()).as("reads still work").isEqualTo(200);
      assertThat(http.delete("/mode/" + subject).json().get("mode").asText()).isEqualTo("READONLY");
      assertThat(http.get("/mode/" + subject).errorCode()).isEqualTo(40409);
      assertThat(http.get("/mode/" + subject + "?defaultToGlobal=true").json().get("mode").asText()).isEqualTo("READWRITE");
      assertThat(register(subject, "AVRO", TypeFixtures.AVRO.both()).status()).isEqualTo(200);
      assertThat(http.put("/mode/" + subject, "{\"mode\":\"SIDEWAYS\"}").errorCode()).isEqualTo(42204);
    }

    @Test
    void shouldImportSchemasWithTheirIdsAndVersionsInImportMode() {
      Http.Response withId = http.post("/subjects/" + subject + "/versions",
          "{\"schema\":" + Http.JSON.valueToTree(TypeFixtures.AVRO.base()) + ",\"id\":90001,\"version\":3}");
      assertThat(withId.errorCode()).as("an id outside IMPORT mode").isEqualTo(42205);
      registerOk(subject, "AVRO", TypeFixtures.AVRO.base());
      Http.Response notEmpty = http.put("/mode/" + subject, "{\"mode\":\"IMPORT\"}");
      assertThat(notEmpty.errorCode()).isEqualTo(42205);
      assertThat(notEmpty.json().get("message").asText()).isEqualTo("Cannot import since found existing subjects");

      String target = subject + "-import";
      assertThat(http.put("/mode/" + target, "{\"mode\":\"IMPORT\"}").json().get("mode").asText()).isEqualTo("IMPORT");
      Http.Response imported = http.post("/subjects/" + target + "/versions",
          "{\"schemaType\":\"JSON\",\"schema\":" + Http.JSON.valueToTree(TypeFixtures.JSON.base()) + ",\"id\":90001,\"version\":3}");
      assertThat(imported.status()).as(imported.text()).isEqualTo(200);
      assertThat(imported.json().get("id").asInt()).isEqualTo(90001);
      assertThat(http.get("/subjects/" + target + "/versions/3").json().get("id").asInt()).isEqualTo(90001);
      Http.Response noId = register(target, "AVRO", TypeFixtures.AVRO.both());
      assertThat(noId.errorCode()).as("IMPORT mode takes registrations with ids only").isEqualTo(42205);
      Http.Response clash = http.post("/subjects/" + target + "/versions",
          "{\"schema\":" + Http.JSON.valueToTree(TypeFixtures.AVRO.both()) + ",\"id\":90001}");
      assertThat(clash.errorCode()).as("another schema under an imported id").isEqualTo(42205);
      http.put("/mode/" + target, "{\"mode\":\"READWRITE\"}");
      int fresh = registerOk(target, "JSON", TypeFixtures.json(
          "\"a\":{\"type\":\"string\"},\"only-" + UUID.randomUUID() + "\":{\"type\":\"string\"}"));
      assertThat(fresh).as("ids continue above the imported ones").isGreaterThan(90001);
      assertThat(http.get("/schemas/ids/90001?fetchMaxId=true").json().get("maxId").asInt()).isGreaterThanOrEqualTo(fresh);
    }
  }
}
