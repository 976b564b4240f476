package io.fractalrmo.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every topic declared under {@code infra/} — the topic list, the kafka-topics script and the
 * Strimzi KafkaTopic manifests — matches {@link TopicCatalog}: the same names, partitions,
 * cleanup policy and configs, and none missing, so the files cannot drift from the code.
 */
class TopicFilesTest {

  static final YAMLMapper YAML = new YAMLMapper();

  /** A topic as one of the files declares it. */
  record Declared(String name, int partitions, Map<String, String> configs) {
  }

  @Test
  void topicListMatchesTheCatalogue() throws IOException {
    List<Declared> declared = new ArrayList<>();
    for (JsonNode t : YAML.readTree(Path.of("topics/topics.yaml").toFile()).get("topics")) {
      declared.add(new Declared(t.get("name").asText(), t.get("partitions").asInt(),
          strings(t.get("config"))));
    }
    assertMatchesCatalogue("topics/topics.yaml", declared);
  }

  @Test
  void kafkaTopicsScriptMatchesTheCatalogue() throws IOException {
    Pattern create = Pattern.compile("^create\\s+(\\S+)\\s+(\\d+)\\s+(\\S+)(.*)$");
    List<Declared> declared = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of("topics/create-topics.sh"))) {
      Matcher m = create.matcher(line.trim());
      if (!m.matches()) {
        continue;
      }
      Map<String, String> configs = new LinkedHashMap<>();
      configs.put("cleanup.policy", m.group(3));
      for (String kv : m.group(4).trim().split("\\s+")) {
        if (!kv.isEmpty()) {
          configs.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
      }
      declared.add(new Declared(m.group(1), Integer.parseInt(m.group(2)), configs));
    }
    assertMatchesCatalogue("topics/create-topics.sh", declared);
  }

  @Test
  void strimziKafkaTopicsMatchTheCatalogue() throws IOException {
    List<Declared> declared = new ArrayList<>();
    for (JsonNode doc : documents(Path.of("k8s/topics.yaml"))) {
      assertThat(doc.path("apiVersion").asText()).isEqualTo("kafka.strimzi.io/v1beta2");
      assertThat(doc.path("kind").asText()).isEqualTo("KafkaTopic");
      assertThat(doc.path("metadata").path("labels").path("strimzi.io/cluster").asText())
          .isNotEmpty();
      // Kubernetes resource names are DNS labels; the Kafka name is spec.topicName.
      assertThat(doc.path("metadata").path("name").asText()).matches("[a-z0-9-]+");
      JsonNode spec = doc.get("spec");
      Map<String, String> configs = strings(spec.get("config"));
      configs.remove("min.insync.replicas");
      declared.add(new Declared(spec.get("topicName").asText(), spec.get("partitions").asInt(),
          configs));
      assertThat(spec.get("replicas").asInt()).isGreaterThanOrEqualTo(3);
    }
    assertMatchesCatalogue("k8s/topics.yaml", declared);
  }

  static void assertMatchesCatalogue(String file, List<Declared> declared) {
    TopicCatalog catalog = TopicCatalog.defaults();
    assertThat(declared).as("topics in %s", file).extracting(Declared::name)
        .containsExactlyInAnyOrderElementsOf(catalog.all().stream().map(TopicSpec::name).toList());
    for (Declared d : declared) {
      TopicSpec spec = catalog.byBaseName(d.name());
      assertThat(d.partitions()).as("partitions of %s in %s", d.name(), file)
          .isEqualTo(spec.partitions());
      assertThat(d.configs()).as("configs of %s in %s", d.name(), file)
          .containsExactlyInAnyOrderEntriesOf(spec.configs());
    }
  }

  static List<JsonNode> documents(Path file) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (var parser = new YAMLFactory().createParser(file.toFile())) {
      var it = new ObjectMapper(new YAMLFactory()).readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        JsonNode doc = it.next();
        if (doc != null && !doc.isNull() && !doc.isEmpty()) {
          docs.add(doc);
        }
      }
    }
    return docs;
  }

  private static Map<String, String> strings(JsonNode object) {
    Map<String, String> out = new LinkedHashMap<>();
    if (object instanceof ObjectNode o) {
      o.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
    }
    return out;
  }
}
