package io.fractalrmo.registry.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.platform.kafka.EmbeddedKafka;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Confluent's REST API, endpoint by endpoint and error by error, against the Kafka-backed server. */
class SchemaRegistryServerTest {

  @TempDir
  static Path dir;
  static EmbeddedKafka kafka;
  static SchemaRegistryServer server;
  static Http http;

  static final String S1 = record("{\"name\":\"a\",\"type\":\"string\"}");
  static final String S1_SPACED = "{ \"type\" : \"record\", \"name\" : \"R\", \"namespace\" : \"t\",\n"
      + "  \"fields\" : [ { \"name\" : \"a\", \"type\" : \"string\" } ] }";
  static final String S2 = record("{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\",\"default\":0}");
  static final String S3_NEW_FIELD_NO_DEFAULT = record("{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"c\",\"type\":\"int\"}");
  static final String S4_EMPTY = record("");
  static final String INCOMPATIBLE = record("{\"name\":\"a\",\"type\":\"int\"}");

  String subject;

  static String record(String fields) {
    return "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[" + fields + "]}";
  }

  @BeforeAll
  static void up() {
    kafka = EmbeddedKafka.start(dir.resolve("kafka"));
    server = SchemaRegistryServer.start(kafka.bootstrapServers(), 0);
    http = new Http(server.url());
  }

  @AfterAll
  static void down() {
    if (server != null) {
      server.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  @BeforeEach
  void freshSubject() {
    subject = "subj-" + UUID.randomUUID();
  }

  int register(String subj, String schema) {
    Http.Response r = http.postSchema("/subjects/" + subj + "/versions", schema);
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    return r.json().get("id").asInt();
  }

  @Nested
  class Register {

    @Test
    void shouldGiveTheSameIdForTheSameSchemaComparedByCanonicalForm() {
      int id = register(subject, S1);
      assertThat(register(subject, S1)).isEqualTo(id);
      assertThat(register(subject, S1_SPACED)).isEqualTo(id);
      assertThat(http.postSchema("/subjects/" + subject + "/versions?normalize=true", S1).json().get("id").asInt()).isEqualTo(id);
      assertThat(register("other-" + subject, S1)).as("same schema under another subject").isEqualTo(id);
      assertThat(http.get("/subjects/" + subject + "/versions").json().toString()).isEqualTo("[1]");
    }

    @Test
    void shouldAddACompatibleVersionWithANewId() {
      int v1 = register(subject, S1);
      int v2 = register(subject, S2);
      assertThat(v2).isNotEqualTo(v1);
      assertThat(http.get("/subjects/" + subject + "/versions").json().toString()).isEqualTo("[1,2]");
    }

    @Test
    void shouldRefuseAnIncompatibleSchemaWith409() {
      register(subject, S1);
      Http.Response r = http.postSchema("/subjects/" + subject + "/versions", INCOMPATIBLE);
      assertThat(r.status()).isEqualTo(409);
      assertThat(r.errorCode()).isEqualTo(409);
      assertThat(r.json().get("message").asText()).contains("incompatible");
    }

    @Test
    void shouldRefuseAnInvalidSchemaWith42201() {
      Http.Response r = http.postSchema("/subjects/" + subject + "/versions", "{\"type\":\"record\",\"name\":\"X\"}");
      assertThat(r.status()).isEqualTo(422);
      assertThat(r.errorCode()).isEqualTo(42201);
      Http.Response missing = http.post("/subjects/" + subject + "/versions", "{}");
      assertThat(missing.status()).isEqualTo(422);
      assertThat(missing.errorCode()).isEqualTo(42201);
      Http.Response notAvro = http.post("/subjects/" + subject + "/versions", "{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax\"}");
      assertThat(notAvro.errorCode()).isEqualTo(42201);
    }

    @Test
    void shouldAnswer400ForMalformedJson() {
      Http.Response r = http.post("/subjects/" + subject + "/versions", "{not json");
      assertThat(r.status()).isEqualTo(400);
      assertThat(r.errorCode()).isEqualTo(400);
    }

    @Test
    void shouldAnswerInConfluentsContentType() {
      assertThat(http.get("/subjects").contentType()).isEqualTo("application/vnd.schemaregistry.v1+json");
    }

    @Test
    void shouldAcceptPlainJsonContentType() {
      Http.Response r = http.call("POST", "/subjects/" + subject + "/versions",
          Http.JSON.createObjectNode().put("schema", S1).toString());
      assertThat(r.status()).isEqualTo(200);
    }

    @Test
    void shouldHandleSubjectsThatNeedEscaping() {
      String odd = "odd subject/with%" + UUID.randomUUID();
      String enc = io.fractalrmo.registry.client.SchemaRegistryClient.encode(odd);
      int id = register(enc, S1);
      assertThat(http.get("/subjects").json().toString()).contains(odd.replace("\"", "\\\""));
      assertThat(http.get("/subjects/" + enc + "/versions/1").json().get("id").asInt()).isEqualTo(id);
    }
  }

  @Nested
  class Lookup {

    @Test
    void shouldFindTheVersionOfARegisteredSchema() {
      int id = register(subject, S1);
      register(subject, S2);
      Http.Response r = http.postSchema("/subjects/" + subject, S1_SPACED);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.json().get("id").asInt()).isEqualTo(id);
      assertThat(r.json().get("version").asInt()).isEqualTo(1);
      assertThat(r.json().get("subject").asText()).isEqualTo(subject);
    }

    @Test
    void shouldAnswer40403ForAnUnknownSchemaAnd40401ForAnUnknownSubject() {
      register(subject, S1);
      Http.Response r = http.postSchema("/subjects/" + subject, S2);
      assertThat(r.status()).isEqualTo(404);
      assertThat(r.errorCode()).isEqualTo(40403);
      Http.Response s = http.postSchema("/subjects/nope-" + subject, S1);
      assertThat(s.status()).isEqualTo(404);
      assertThat(s.errorCode()).isEqualTo(40401);
    }
  }

  @Nested
  class Read {

    @Test
    void shouldListSubjectsAndVersions() {
      register(subject, S1);
      assertThat(http.get("/subjects").json().toString()).contains("\"" + subject + "\"");
      assertThat(http.get("/subjects/" + subject + "/versions").json().toString()).isEqualTo("[1]");
      Http.Response r = http.get("/subjects/nope-" + subject + "/versions");
      assertThat(r.status()).isEqualTo(404);
      assertThat(r.errorCode()).isEqualTo(40401);
    }

    @Test
    void shouldServeAVersionByNumberLatestAndMinusOne() {
      int id1 = register(subject, S1);
      int id2 = register(subject, S2);
      assertThat(http.get("/subjects/" + subject + "/versions/1").json().get("id").asInt()).isEqualTo(id1);
      assertThat(http.get("/subjects/" + subject + "/versions/latest").json().get("id").asInt()).isEqualTo(id2);
      assertThat(http.get("/subjects/" + subject + "/versions/-1").json().get("version").asInt()).isEqualTo(2);
      Http.Response raw = http.get("/subjects/" + subject + "/versions/1/schema");
      assertThat(raw.status()).isEqualTo(200);
      assertThat(raw.json().get("fields").get(0).get("name").asText()).isEqualTo("a");
    }

    @Test
    void shouldAnswer40402ForAMissingVersionAnd42202ForAnInvalidOne() {
      register(subject, S1);
      Http.Response missing = http.get("/subjects/" + subject + "/versions/99");
      assertThat(missing.status()).isEqualTo(404);
      assertThat(missing.errorCode()).isEqualTo(40402);
      for (String bad : List.of("abc", "0", "-5")) {
        Http.Response r = http.get("/subjects/" + subject + "/versions/" + bad);
        assertThat(r.status()).as(bad).isEqualTo(422);
        assertThat(r.errorCode()).as(bad).isEqualTo(42202);
      }
      assertThat(http.get("/subjects/nope-" + subject + "/versions/1").errorCode()).isEqualTo(40401);
    }

    @Test
    void shouldServeSchemasById() {
      int id = register(subject, S1);
      register("second-" + subject, S1);
      Http.Response r = http.get("/schemas/ids/" + id);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.json().get("schema").asText()).contains("\"name\":\"R\"");
      assertThat(http.get("/schemas/ids/" + id + "?subject=" + subject).status()).isEqualTo(200);
      // ?subject= picks a context in Confluent's registry, it does not filter: same answer.
      assertThat(http.get("/schemas/ids/" + id + "?subject=unrelated").status()).isEqualTo(200);
      assertThat(http.get("/schemas/ids/" + id + "?fetchMaxId=true").json().get("maxId").asInt())
          .isGreaterThanOrEqualTo(id);
      assertThat(http.get("/contexts").json().toString()).isEqualTo("[\".\"]");
      Http.Response unknown = http.get("/schemas/ids/987654");
      assertThat(unknown.status()).isEqualTo(404);
      assertThat(unknown.errorCode()).isEqualTo(40403);
      Http.Response versions = http.get("/schemas/ids/" + id + "/versions");
      assertThat(versions.json().toString())
          .contains("{\"subject\":\"" + subject + "\",\"version\":1}")
          .contains("{\"subject\":\"second-" + subject + "\",\"version\":1}");
      assertThat(http.get("/schemas/ids/987654/versions").errorCode()).isEqualTo(40403);
    }

    @Test
    void shouldListTypesModeAndRoot() {
      assertThat(http.get("/schemas/types").json().toString()).isEqualTo("[\"JSON\",\"PROTOBUF\",\"AVRO\"]");
      assertThat(http.get("/mode").json().get("mode").asText()).isEqualTo("READWRITE");
      assertThat(http.get("/").status()).isEqualTo(200);
      assertThat(http.get("/no/such/thing").status()).isEqualTo(404);
      assertThat(http.call("PATCH", "/subjects", null).status()).isEqualTo(405);
    }
  }

  @Nested
  class Delete {

    @Test
    void shouldSoftDeleteThenPermanentlyDeleteAVersion() {
      register(subject, S1);
      register(subject, S2);
      assertThat(http.delete("/subjects/" + subject + "/versions/1").text()).isEqualTo("1");
      assertThat(http.get("/subjects/" + subject + "/versions").json().toString()).isEqualTo("[2]");
      assertThat(http.get("/subjects/" + subject + "/versions?deleted=true").json().toString()).isEqualTo("[1,2]");
      assertThat(http.get("/subjects/" + subject + "/versions/1").errorCode()).isEqualTo(40402);
      assertThat(http.get("/subjects/" + subject + "/versions/1?deleted=true").status()).isEqualTo(200);
      Http.Response again = http.delete("/subjects/" + subject + "/versions/1");
      assertThat(again.status()).isEqualTo(404);
      assertThat(again.errorCode()).isEqualTo(40406);
      Http.Response notSoft = http.delete("/subjects/" + subject + "/versions/2?permanent=true");
      assertThat(notSoft.errorCode()).isEqualTo(40407);
      assertThat(http.delete("/subjects/" + subject + "/versions/1?permanent=true").text()).isEqualTo("1");
      assertThat(http.get("/subjects/" + subject + "/versions?deleted=true").json().toString()).isEqualTo("[2]");
      assertThat(http.delete("/subjects/" + subject + "/versions/7").errorCode()).isEqualTo(40402);
      assertThat(http.delete("/subjects/" + subject + "/versions/x").errorCode()).isEqualTo(42202);
      assertThat(http.delete("/subjects/nope-" + subject + "/versions/1").errorCode()).isEqualTo(40401);
    }

    @Test
    void shouldSoftDeleteThenPermanentlyDeleteASubject() {
      register(subject, S1);
      register(subject, S2);
      Http.Response notSoft = http.delete("/subjects/" + subject + "?permanent=true");
      assertThat(notSoft.status()).isEqualTo(404);
      assertThat(notSoft.errorCode()).isEqualTo(40405);
      assertThat(http.delete("/subjects/" + subject).json().toString()).isEqualTo("[1,2]");
      assertThat(http.get("/subjects").json().toString()).doesNotContain(subject);
      assertThat(http.get("/subjects?deleted=true").json().toString()).contains(subject);
      assertThat(http.get("/subjects/" + subject + "/versions").errorCode()).isEqualTo(40401);
      assertThat(http.delete("/subjects/" + subject).errorCode()).isEqualTo(40404);
      assertThat(http.delete("/subjects/" + subject + "?permanent=true").json().toString()).isEqualTo("[1,2]");
      assertThat(http.get("/subjects?deleted=true").json().toString()).doesNotContain(subject);
      assertThat(http.delete("/subjects/" + subject).errorCode()).isEqualTo(40401);
    }

    @Test
    void shouldRegisterAgainAfterASoftDeleteAsANewVersion() {
      int id = register(subject, S1);
      http.delete("/subjects/" + subject);
      assertThat(register(subject, S1)).isEqualTo(id);
      assertThat(http.get("/subjects/" + subject + "/versions").json().toString()).isEqualTo("[2]");
    }
  }

  @Nested
  class Config {

    @Test
    void shouldDefaultToBackwardGloballyAndSetPerSubject() {
      assertThat(http.get("/config").json().get("compatibilityLevel").asText()).isEqualTo("BACKWARD");
      Http.Response none = http.get("/config/" + subject);
      assertThat(none.status()).isEqualTo(404);
      assertThat(none.errorCode()).isEqualTo(40408);
      assertThat(http.get("/config/" + subject + "?defaultToGlobal=true").json().get("compatibilityLevel").asText())
          .isEqualTo("BACKWARD");
      Http.Response put = http.put("/config/" + subject, "{\"compatibility\":\"FULL\"}");
      assertThat(put.json().get("compatibility").asText()).isEqualTo("FULL");
      assertThat(http.get("/config/" + subject).json().get("compatibilityLevel").asText()).isEqualTo("FULL");
      assertThat(http.delete("/config/" + subject).json().get("compatibilityLevel").asText()).isEqualTo("FULL");
      assertThat(http.get("/config/" + subject).errorCode()).isEqualTo(40408);
    }

    @Test
    void shouldRefuseAnUnknownLevelWith42203() {
      Http.Response r = http.put("/config/" + subject, "{\"compatibility\":\"SIDEWAYS\"}");
      assertThat(r.status()).isEqualTo(422);
      assertThat(r.errorCode()).isEqualTo(42203);
      assertThat(http.put("/config", "{\"compatibility\":\"SIDEWAYS\"}").errorCode()).isEqualTo(42203);
    }

    @Test
    void shouldSetTheGlobalLevel() {
      assertThat(http.put("/config", "{\"compatibility\":\"BACKWARD\"}").json().get("compatibility").asText())
          .isEqualTo("BACKWARD");
    }

    /** Each level decides a second (or third) version by Avro's own SchemaCompatibility. */
    @ParameterizedTest(name = "{0}: {4}")
    @CsvSource(delimiter = '|', value = {
        // level               | first                       | second                      | candidate                          | accepted
        "NONE                  | {a:string}                  |                             | {a:int}                            | true",
        "BACKWARD              | {a:string}                  |                             | {a:string,c:int}                   | false",
        "BACKWARD              | {a:string}                  |                             | {}                                 | true",
        "FORWARD               | {a:string}                  |                             | {a:string,c:int}                   | true",
        "FORWARD               | {a:string}                  |                             | {}                                 | false",
        "FULL                  | {a:string}                  |                             | {a:string,b:int=0}                 | true",
        "FULL                  | {a:string}                  |                             | {}                                 | false",
        // transitive: fine against the latest version, not against the first
        "BACKWARD              | {a:string}                  | {a:string,b:int=0}          | {a:string,b:int}                   | true",
        "BACKWARD_TRANSITIVE   | {a:string}                  | {a:string,b:int=0}          | {a:string,b:int}                   | false",
        "FORWARD               | {a:string,b:int}            | {a:string,b:int=0}          | {a:string}                         | true",
        "FORWARD_TRANSITIVE    | {a:string,b:int}            | {a:string,b:int=0}          | {a:string}                         | false",
        "FULL                  | {a:string,b:int=0}          | {a:string}                  | {a:string,b:string=x}              | true",
        "FULL_TRANSITIVE       | {a:string,b:int=0}          | {a:string}                  | {a:string,b:string=x}              | false",
    })
    void shouldApplyEachLevel(String level, String first, String second, String candidate, boolean accepted) {
      http.put("/config/" + subject, "{\"compatibility\":\"" + level + "\"}");
      register(subject, shorthand(first));
      if (second != null) {
        register(subject, shorthand(second));
      }
      Http.Response test = http.postSchema("/compatibility/subjects/" + subject + "/versions/latest?verbose=true",
          shorthand(candidate));
      assertThat(test.json().get("is_compatible").asBoolean()).as(test.text()).isEqualTo(accepted);
      Http.Response r = http.postSchema("/subjects/" + subject + "/versions", shorthand(candidate));
      assertThat(r.status()).as(r.text()).isEqualTo(accepted ? 200 : 409);
    }
  }

  @Nested
  class Compatibility {

    @Test
    void shouldAnswerIsCompatibleWithVerboseMessages() {
      register(subject, S1);
      Http.Response ok = http.postSchema("/compatibility/subjects/" + subject + "/versions/latest", S2);
      assertThat(ok.json().get("is_compatible").asBoolean()).isTrue();
      Http.Response bad = http.postSchema("/compatibility/subjects/" + subject + "/versions/1?verbose=true", INCOMPATIBLE);
      assertThat(bad.json().get("is_compatible").asBoolean()).isFalse();
      assertThat(bad.json().get("messages").get(0).asText()).contains("TYPE_MISMATCH");
      assertThat(http.postSchema("/compatibility/subjects/" + subject + "/versions", S2)
          .json().get("is_compatible").asBoolean()).isTrue();
    }

    @Test
    void shouldAnswerTheErrorCodes() {
      register(subject, S1);
      assertThat(http.postSchema("/compatibility/subjects/nope-" + subject + "/versions/latest", S1).errorCode())
          .isEqualTo(40401);
      assertThat(http.postSchema("/compatibility/subjects/" + subject + "/versions/9", S1).errorCode())
          .isEqualTo(40402);
      assertThat(http.postSchema("/compatibility/subjects/" + subject + "/versions/zero", S1).errorCode())
          .isEqualTo(42202);
      assertThat(http.postSchema("/compatibility/subjects/" + subject + "/versions/latest", "{bad").errorCode())
          .isEqualTo(42201);
    }
  }

  @Nested
  class Concurrency {

    @Test
    void shouldGiveOneIdWhenTwoClientsRegisterTheSameSchemaAtOnce() throws Exception {
      String schema = record("{\"name\":\"x" + UUID.randomUUID().toString().replace("-", "") + "\",\"type\":\"string\"}");
      List<Integer> ids = race(8, i -> register(subject, schema));
      assertThat(new HashSet<>(ids)).hasSize(1);
      assertThat(http.get("/subjects/" + subject + "/versions").json().toString()).isEqualTo("[1]");
    }

    @Test
    void shouldAgreeOnIdsAcrossTwoInstancesAndAcrossARestart() throws Exception {
      String topic = "_schemas_" + UUID.randomUUID();
      SchemaRegistryServer.Options opts = SchemaRegistryServer.Options.defaults().withTopic(topic);
      List<Integer> ids;
      List<String> schemas = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        schemas.add(record("{\"name\":\"f" + i + "\",\"type\":\"string\"}"));
      }
      try (SchemaRegistryServer a = SchemaRegistryServer.start(kafka.bootstrapServers(), opts);
           SchemaRegistryServer b = SchemaRegistryServer.start(kafka.bootstrapServers(), opts)) {
        Http ha = new Http(a.url());
        Http hb = new Http(b.url());
        // 12 registrations at once: each schema at both instances, under different subjects.
        ids = race(12, i -> {
          Http h = i % 2 == 0 ? ha : hb;
          Http.Response r = h.postSchema("/subjects/s" + (i / 2) + "/versions", schemas.get(i / 2));
          assertThat(r.status()).as(r.text()).isEqualTo(200);
          return r.json().get("id").asInt();
        });
        for (int i = 0; i < 12; i += 2) {
          assertThat(ids.get(i)).as("both instances give schema %d one id", i / 2).isEqualTo(ids.get(i + 1));
        }
        assertThat(new HashSet<>(ids)).as("different schemas, different ids").hasSize(6);
        for (int i = 0; i < 12; i++) {
          String fromA = ha.get("/schemas/ids/" + ids.get(i)).json().get("schema").asText();
          String fromB = hb.get("/schemas/ids/" + ids.get(i)).json().get("schema").asText();
          assertThat(fromA).isEqualTo(fromB).contains("\"f" + (i / 2) + "\"");
        }
      }
      try (SchemaRegistryServer restarted = SchemaRegistryServer.start(kafka.bootstrapServers(), opts)) {
        Http h = new Http(restarted.url());
        for (int i = 0; i < 6; i++) {
          assertThat(h.get("/schemas/ids/" + ids.get(2 * i)).json().get("schema").asText()).contains("\"f" + i + "\"");
          assertThat(h.postSchema("/subjects/s" + i + "/versions", schemas.get(i)).json().get("id").asInt())
              .isEqualTo(ids.get(2 * i));
        }
        int fresh = h.postSchema("/subjects/new/versions", record("{\"name\":\"z\",\"type\":\"long\"}")).json().get("id").asInt();
        assertThat(Set.copyOf(ids)).doesNotContain(fresh);
      }
    }

    <T> List<T> race(int n, java.util.function.IntFunction<T> task) throws Exception {
      ExecutorService pool = Executors.newFixedThreadPool(n);
      try {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<T>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          int index = i;
          Callable<T> c = () -> {
            go.await();
            return task.apply(index);
          };
          futures.add(pool.submit(c));
        }
        go.countDown();
        List<T> out = new ArrayList<>();
        for (Future<T> f : futures) {
          out.add(f.get(60, java.util.concurrent.TimeUnit.SECONDS));
        }
        return out;
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Nested
  class Restart {

    /** Every kind of record the store writes (types, references, metadata, configs, modes) is replayed alike. */
    @Test
    void shouldRebuildTypesReferencesMetadataConfigsAndModesAfterARestart() {
      String topic = "_schemas_restart_" + UUID.randomUUID();
      SchemaRegistryServer.Options opts = SchemaRegistryServer.Options.defaults().withTopic(topic);
      String address = "{\"schemaType\":\"PROTOBUF\",\"schema\":" + Http.JSON.valueToTree(
          "syntax = \"proto3\";\npackage r;\nmessage Address {\n  string city = 1;\n}\n") + "}";
      String customer = "{\"schemaType\":\"PROTOBUF\",\"schema\":" + Http.JSON.valueToTree(
          "syntax = \"proto3\";\npackage r;\nimport \"r/address.proto\";\nmessage Customer {\n  Address home = 1;\n}\n")
          + ",\"references\":[{\"name\":\"r/address.proto\",\"subject\":\"addresses\",\"version\":1}]"
          + ",\"metadata\":{\"properties\":{\"owner\":\"team-a\"}}}";
      String json = "{\"schemaType\":\"JSON\",\"schema\":\"{\\\"type\\\":\\\"string\\\"}\"}";
      int customerId;
      int jsonId;
      try (SchemaRegistryServer a = SchemaRegistryServer.start(kafka.bootstrapServers(), opts)) {
        Http h = new Http(a.url());
        assertThat(h.post("/subjects/addresses/versions", address).status()).isEqualTo(200);
        Http.Response c = h.post("/subjects/customers/versions", customer);
        assertThat(c.status()).as(c.text()).isEqualTo(200);
        customerId = c.json().get("id").asInt();
        jsonId = h.post("/subjects/strings/versions", json).json().get("id").asInt();
        h.put("/config/customers", "{\"compatibility\":\"FULL_TRANSITIVE\",\"normalize\":true}");
        h.put("/mode/strings", "{\"mode\":\"READONLY\"}");
      }
      try (SchemaRegistryServer b = SchemaRegistryServer.start(kafka.bootstrapServers(), opts)) {
        Http h = new Http(b.url());
        Http.Response v = h.get("/subjects/customers/versions/1");
        assertThat(v.json().get("id").asInt()).isEqualTo(customerId);
        assertThat(v.json().get("schemaType").asText()).isEqualTo("PROTOBUF");
        assertThat(v.json().get("references").get(0).get("subject").asText()).isEqualTo("addresses");
        assertThat(v.json().get("metadata").get("properties").get("owner").asText()).isEqualTo("team-a");
        assertThat(h.get("/schemas/ids/" + jsonId).json().get("schemaType").asText()).isEqualTo("JSON");
        assertThat(h.get("/subjects/addresses/versions/1/referencedby").json().toString()).isEqualTo("[" + customerId + "]");
        assertThat(h.delete("/subjects/addresses/versions/1").errorCode()).isEqualTo(42206);
        JsonNodeAssert.config(h.get("/config/customers").json());
        assertThat(h.get("/mode/strings").json().get("mode").asText()).isEqualTo("READONLY");
        assertThat(h.post("/subjects/strings/versions", json.replace("string", "integer")).errorCode()).isEqualTo(42205);
      }
    }
  }

  /** Assertions on a restarted config. */
  static final class JsonNodeAssert {
    static void config(com.fasterxml.jackson.databind.JsonNode c) {
      assertThat(c.get("compatibilityLevel").asText()).isEqualTo("FULL_TRANSITIVE");
      assertThat(c.get("normalize").asBoolean()).isTrue();
    }
  }

  /** {a:string,b:int=0} → a record schema; "=v" gives a default. */
  static String shorthand(String s) {
    String body = s.trim();
    body = body.substring(1, body.length() - 1);
    List<String> fields = new ArrayList<>();
    if (!body.isBlank()) {
      for (String f : body.split(",")) {
        String[] nameType = f.split(":");
        String type = nameType[1];
        String dflt = null;
        if (type.contains("=")) {
          dflt = type.substring(type.indexOf('=') + 1);
          type = type.substring(0, type.indexOf('='));
        }
        String field = "{\"name\":\"" + nameType[0] + "\",\"type\":\"" + type + "\"";
        if (dflt != null) {
          field += ",\"default\":" + (type.equals("string") ? "\"" + dflt + "\"" : dflt);
        }
        fields.add(field + "}");
      }
    }
    return record(String.join(",", fields));
  }
}
