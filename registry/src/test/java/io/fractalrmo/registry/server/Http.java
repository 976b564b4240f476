package io.fractalrmo.registry.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A bare HTTP caller for the registry tests: what any client in any language sends. */
final class Http {

  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  record Response(int status, String contentType, String text) {
    JsonNode json() {
      try {
        return JSON.readTree(text);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + text, e);
      }
    }

    int errorCode() {
      return json().path("error_code").asInt();
    }
  }

  private final String base;

  Http(String base) {
    this.base = base;
  }

  Response get(String path) {
    return call("GET", path, null);
  }

  Response delete(String path) {
    return call("DELETE", path, null);
  }

  Response post(String path, String body) {
    return call("POST", path, body);
  }

  Response put(String path, String body) {
    return call("PUT", path, body);
  }

  /** POST {"schema": <schema as a JSON string>} */
  Response postSchema(String path, String schema) {
    return post(path, JSON.createObjectNode().put("schema", schema).toString());
  }

  Response call(String method, String path, String body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .header("Accept", "application/vnd.schemaregistry.v1+json");
    if (body != null) {
      b.header("Content-Type", "application/vnd.schemaregistry.v1+json");
      b.method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    try {
      HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body());
    } catch (Exception e) {
      throw new AssertionError(method + " " + path + " failed", e);
    }
  }
}
