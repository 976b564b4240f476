package io.fractalrmo.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The compose file and the Kubernetes manifests deploy what the design names: the
 * infrastructure services, and every fractal role as its own service that scales by replicas.
 */
class DeploymentFilesTest {

  private static final List<String> ROLES =
      List.of("analyzer", "executor", "validator", "streams", "sink", "outbox");

  @Test
  void composeRunsTheInfrastructureAndEveryRoleAsAScalableService() throws IOException {
    // SnakeYAML resolves the '<<' merge keys (x-fractal) the way docker compose does.
    Object compose;
    try (var reader = java.nio.file.Files.newBufferedReader(Path.of("compose.yaml"))) {
      compose = new org.yaml.snakeyaml.Yaml().load(reader);
    }
    JsonNode services = TopicFilesTest.YAML.valueToTree(compose).get("services");
    assertThat(services.has("kafka")).isTrue();
    assertThat(services.at("/kafka/environment/KAFKA_PROCESS_ROLES").asText())
        .isEqualTo("broker,controller");
    assertThat(services.at("/postgres/command").asText()).contains("wal_level=logical")
        .contains("max_slot_wal_keep_size");
    assertThat(services.at("/kafka-ui/image").asText()).startsWith("ghcr.io/kafbat/kafka-ui");
    String registry = services.at("/schema-registry/image").asText();
    assertThat(registry).isNotEmpty();
    assertThat(services.at("/kafka-ui/environment/KAFKA_CLUSTERS_0_SCHEMAREGISTRY").asText())
        .startsWith("http://schema-registry:");
    assertThat(services.at("/kafka-ui/environment/KAFKA_CLUSTERS_0_KAFKACONNECT_0_ADDRESS")
        .asText()).isEqualTo("http://connect:8083");
    assertThat(services.has("connect")).isTrue();
    for (String role : ROLES) {
      JsonNode service = services.get(role);
      assertThat(service).as("service %s", role).isNotNull();
      assertThat(service.get("command").get(0).asText()).isEqualTo("run");
      assertThat(service.get("command").get(1).asText()).isEqualTo(role);
      assertThat(service.at("/deploy/replicas").asInt()).as("replicas of %s", role)
          .isPositive();
      assertThat(service.at("/environment/FRACTAL_BOOTSTRAP_SERVERS").asText())
          .isEqualTo("kafka:9092");
    }
    assertThat(services.at("/outbox/deploy/replicas").asInt()).as("one slot owner").isEqualTo(1);
    assertThat(services.at("/sink/environment/FRACTAL_JDBC_URL").asText())
        .startsWith("jdbc:postgresql://postgres:5432/");
  }

  @Test
  void kubernetesHasADeploymentPerRole() throws IOException {
    Map<String, JsonNode> deployments = new LinkedHashMap<>();
    for (JsonNode doc : TopicFilesTest.documents(Path.of("k8s/fractal-roles.yaml"))) {
      if (doc.path("kind").asText().equals("Deployment")) {
        JsonNode container = doc.at("/spec/template/spec/containers/0");
        List<String> args = new ArrayList<>();
        container.get("args").forEach(a -> args.add(a.asText()));
        assertThat(args.get(0)).isEqualTo("run");
        deployments.put(args.get(1), doc);
        String name = doc.at("/spec/selector/matchLabels/app.kubernetes.io~1name").asText();
        assertThat(name).isEqualTo("fractal-" + args.get(1));
        assertThat(doc.at("/spec/template/metadata/labels/app.kubernetes.io~1name").asText())
            .as("pods match the selector").isEqualTo(name);
      }
    }
    assertThat(deployments.keySet()).containsExactlyInAnyOrderElementsOf(ROLES);
    assertThat(deployments.get("outbox").at("/spec/replicas").asInt()).isEqualTo(1);
    assertThat(deployments.get("outbox").at("/spec/strategy/type").asText())
        .isEqualTo("Recreate");
  }
}
