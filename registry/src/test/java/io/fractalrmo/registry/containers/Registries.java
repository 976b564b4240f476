package io.fractalrmo.registry.containers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Plain REST calls between two Confluent-compatible registries, and the migration a tool does:
 * put the target in IMPORT mode, copy every version with its id, version, type and references
 * (lowest id first, so a referenced schema exists before its referrers), back to READWRITE.
 */
final class Registries {

  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private Registries() {
  }

  static JsonNode call(String base, String method, String path, String body) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .header("Accept", "application/vnd.schemaregistry.v1+json");
    if (body != null) {
      b.header("Content-Type", "application/vnd.schemaregistry.v1+json").method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 300) {
      throw new IOException(method + " " + base + path + " answered " + r.statusCode() + ": " + r.body());
    }
    return JSON.readTree(r.body());
  }

  /** Copies every live version of {@code from} into {@code to} with the same ids; returns how many. */
  static int importAll(String from, String to) throws IOException, InterruptedException {
    call(to, "PUT", "/mode", "{\"mode\":\"IMPORT\"}");
    List<JsonNode> versions = new ArrayList<>();
    call(from, "GET", "/schemas", null).forEach(versions::add);
    versions.sort(Comparator.comparingInt((JsonNode v) -> v.get("id").asInt()).thenComparingInt(v -> v.get("version").asInt()));
    for (JsonNode v : versions) {
      ObjectNode body = JSON.createObjectNode();
      body.put("schema", v.get("schema").asText());
      if (v.has("schemaType")) {
        body.put("schemaType", v.get("schemaType").asText());
      }
      if (v.has("references")) {
        body.set("references", v.get("references"));
      }
      body.put("id", v.get("id").asInt());
      body.put("version", v.get("version").asInt());
      call(to, "POST", "/subjects/" + io.fractalrmo.registry.client.SchemaRegistryClient.encode(v.get("subject").asText())
          + "/versions", body.toString());
    }
    call(to, "PUT", "/mode", "{\"mode\":\"READWRITE\"}");
    return versions.size();
  }
}
