package io.fractalrmo.agentworkers.executor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model backend speaking the OpenAI-compatible chat-completions API. Configured from the
 * environment: {@code FRACTAL_MODEL_URL} (base URL, e.g. {@code http://localhost:8000/v1}; the
 * request goes to {@code <url>/chat/completions} unless the URL already ends with it),
 * {@code FRACTAL_MODEL_NAME} (default {@code gpt-4o-mini}), {@code FRACTAL_MODEL_API_KEY}
 * (optional bearer token). Active PROMPT_GUIDELINE rules become part of the system message. The
 * answer's first fenced code block (or the whole answer) is the code.
 */
public final class OpenAiCodeGenerator implements CodeGenerator {

  public static final String URL_ENV = "FRACTAL_MODEL_URL";
  public static final String NAME_ENV = "FRACTAL_MODEL_NAME";
  public static final String KEY_ENV = "FRACTAL_MODEL_API_KEY";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern FENCE = Pattern.compile("```(?:python|py)?\\s*\\n(.*?)```", Pattern.DOTALL);

  private final URI endpoint;
  private final String model;
  private final String apiKey;
  private final HttpClient http;
  private final Duration timeout;

  public OpenAiCodeGenerator(URI baseUrl, String model, String apiKey, Duration timeout) {
    String s = baseUrl.toString().replaceAll("/+$", "");
    this.endpoint = URI.create(s.endsWith("/chat/completions") ? s : s + "/chat/completions");
    this.model = model;
    this.apiKey = apiKey;
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  }

  /** The backend configured by the environment, if {@code FRACTAL_MODEL_URL} is set. */
  public static Optional<CodeGenerator> fromEnvironment() {
    return fromEnvironment(System.getenv());
  }

  static Optional<CodeGenerator> fromEnvironment(Map<String, String> env) {
    String url = env.get(URL_ENV);
    if (url == null || url.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(new OpenAiCodeGenerator(URI.create(url.strip()),
        env.getOrDefault(NAME_ENV, "gpt-4o-mini"), env.get(KEY_ENV), Duration.ofSeconds(120)));
  }

  @Override
  public String generate(String prompt, String entryPoint, List<String> guidelines) throws IOException, InterruptedException {
    StringBuilder system = new StringBuilder("You write Python 3 code. Answer with one ```python code block "
        + "containing a complete, self-contained module (imports included) and nothing else.");
    if (entryPoint != null && !entryPoint.isBlank()) {
      system.append(" The module must define the function `").append(entryPoint).append("`.");
    }
    for (String g : guidelines) {
      system.append("\nGuideline: ").append(g);
    }
    ObjectNode body = JSON.createObjectNode().put("model", model).put("temperature", 0);
    ArrayNode messages = body.putArray("messages");
    messages.addObject().put("role", "system").put("content", system.toString());
    messages.addObject().put("role", "user").put("content", prompt);
    HttpRequest.Builder req = HttpRequest.newBuilder(endpoint).timeout(timeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body), StandardCharsets.UTF_8));
    if (apiKey != null && !apiKey.isBlank()) {
      req.header("Authorization", "Bearer " + apiKey);
    }
    HttpResponse<String> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    if (resp.statusCode() / 100 != 2) {
      throw new IOException("model backend answered HTTP " + resp.statusCode() + ": "
          + resp.body().substring(0, Math.min(300, resp.body().length())));
    }
    JsonNode content = JSON.readTree(resp.body()).path("choices").path(0).path("message").path("content");
    if (!content.isTextual() || content.asText().isBlank()) {
      throw new IOException("model backend returned no content");
    }
    return extractCode(content.asText());
  }

  static String extractCode(String answer) {
    Matcher m = FENCE.matcher(answer);
    return m.find() ? m.group(1) : answer.strip() + "\n";
  }
}
