package io.fractalrmo.app.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The 164 HumanEval problems (MIT, OpenAI), read from the copy the agent-workers jar carries at
 * {@value #RESOURCE}.
 */
public final class HumanEvalProblems {

  public static final String RESOURCE = "humaneval/HumanEval.jsonl.gz";

  private HumanEvalProblems() {
  }

  /** Every problem, in dataset order. */
  public static List<Problem> load() {
    ClassLoader loader = HumanEvalProblems.class.getClassLoader();
    try (InputStream raw = loader.getResourceAsStream(RESOURCE)) {
      if (raw == null) {
        throw new IllegalStateException("HumanEval not on the classpath at " + RESOURCE
            + " (it ships in fractal-agent-workers)");
      }
      return parse(new GZIPInputStream(raw));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  static List<Problem> parse(InputStream jsonl) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    List<Problem> problems = new ArrayList<>();
    BufferedReader reader = new BufferedReader(
        new InputStreamReader(jsonl, StandardCharsets.UTF_8));
    String line;
    while ((line = reader.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode node = mapper.readTree(line);
      problems.add(new Problem(node.get("task_id").asText(), node.get("prompt").asText(),
          node.get("canonical_solution").asText(), node.get("test").asText(),
          node.get("entry_point").asText()));
    }
    return List.copyOf(problems);
  }
}
