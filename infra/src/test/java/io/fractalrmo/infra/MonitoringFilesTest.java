package io.fractalrmo.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The monitoring files: Prometheus scrapes every role on the port the compose file gives them,
 * Grafana is provisioned with that Prometheus and a dashboard whose panels all query it. (That
 * every metric the dashboard names is really served is checked against a running stack in the
 * app's ObservabilityEndToEndTest.)
 */
class MonitoringFilesTest {

  private static final List<String> ROLES =
      List.of("analyzer", "executor", "validator", "streams", "sink", "outbox");

  @Test
  void prometheusScrapesEveryRoleOnTheComposeMetricsPort() throws IOException {
    JsonNode config = TopicFilesTest.YAML.readTree(Path.of("monitoring/prometheus.yml").toFile());
    JsonNode job = config.path("scrape_configs").get(0);
    assertThat(job.path("metrics_path").asText()).isEqualTo("/metrics");
    JsonNode dns = job.path("dns_sd_configs").get(0);
    List<String> names = new ArrayList<>();
    dns.path("names").forEach(n -> names.add(n.asText()));
    assertThat(names).containsExactlyInAnyOrderElementsOf(ROLES);

    Object composeYaml;
    try (var reader = Files.newBufferedReader(Path.of("compose.yaml"))) {
      composeYaml = new org.yaml.snakeyaml.Yaml().load(reader);
    }
    JsonNode services = TopicFilesTest.YAML.valueToTree(composeYaml).get("services");
    for (String role : ROLES) {
      assertThat(services.at("/" + role + "/environment/FRACTAL_METRICS_PORT").asInt())
          .as("metrics port of %s", role).isEqualTo(dns.path("port").asInt());
      assertThat(services.at("/" + role + "/environment/FRACTAL_METRICS_HOST").asText()).isEqualTo("0.0.0.0");
    }
    assertThat(services.at("/prometheus/volumes/0").asText()).startsWith("./monitoring/prometheus.yml:");
    assertThat(services.at("/grafana/volumes").toString()).contains("./monitoring/grafana/provisioning",
        "./monitoring/grafana/dashboards");
  }

  @Test
  void grafanaDashboardQueriesTheProvisionedPrometheus() throws IOException {
    JsonNode datasources = TopicFilesTest.YAML.readTree(
        Path.of("monitoring/grafana/provisioning/datasources/prometheus.yml").toFile());
    JsonNode source = datasources.path("datasources").get(0);
    assertThat(source.path("type").asText()).isEqualTo("prometheus");
    assertThat(source.path("url").asText()).isEqualTo("http://prometheus:9090");
    String uid = source.path("uid").asText();

    JsonNode provider = TopicFilesTest.YAML.readTree(
        Path.of("monitoring/grafana/provisioning/dashboards/fractal.yml").toFile()).path("providers").get(0);
    assertThat(provider.path("options").path("path").asText()).isEqualTo("/var/lib/grafana/dashboards");

    JsonNode dashboard = new ObjectMapper().readTree(
        Path.of("monitoring/grafana/dashboards/fractal-rmo.json").toFile());
    assertThat(dashboard.path("uid").asText()).isNotBlank();
    assertThat(dashboard.path("title").asText()).isEqualTo("Fractal-RMO");
    JsonNode panels = dashboard.path("panels");
    assertThat(panels.size()).isGreaterThanOrEqualTo(8);
    Set<Integer> ids = new HashSet<>();
    for (JsonNode panel : panels) {
      assertThat(ids.add(panel.path("id").asInt())).as("unique panel id %s", panel.path("id")).isTrue();
      assertThat(panel.path("title").asText()).isNotBlank();
      assertThat(panel.path("datasource").path("uid").asText()).isEqualTo(uid);
      assertThat(panel.path("gridPos").path("w").asInt()).isBetween(1, 24);
      assertThat(panel.path("targets").size()).as(panel.path("title").asText()).isPositive();
      for (JsonNode target : panel.path("targets")) {
        assertThat(target.path("datasource").path("uid").asText()).isEqualTo(uid);
        String expr = target.path("expr").asText();
        assertThat(expr).as("query of %s", panel.path("title")).matches(".*\\b(fractal|kafka|jvm)_[a-z_]+.*");
        assertThat(count(expr, '(')).as("balanced parentheses in %s", expr).isEqualTo(count(expr, ')'));
      }
    }
  }

  private static long count(String s, char c) {
    return s.chars().filter(x -> x == c).count();
  }
}
