package io.fractalrmo.agentworkers.humaneval;

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
 * OpenAI's HumanEval (164 problems, MIT licence), shipped on the classpath as
 * {@code /humaneval/HumanEval.jsonl.gz}.
 */
public final class HumanEvalDataset {

  public static final String RESOURCE = "/humaneval/HumanEval.jsonl.gz";

  /** One problem; {@link #solution()} is the prompt (signature + docstring) + canonical body. */
  public record Problem(String taskId, String prompt, String canonicalSolution, String test, String entryPoint) {
    public String solution() {
      return prompt + canonicalSolution;
    }
  }

  private HumanEvalDataset() {}

  public static List<Problem> load() {
    ObjectMapper json = new ObjectMapper();
    try (InputStream raw = HumanEvalDataset.class.getResourceAsStream(RESOURCE)) {
      if (raw == null) {
        throw new IllegalStateException(RESOURCE + " is not on the classpath");
      }
      List<Problem> problems = new ArrayList<>();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.isBlank()) {
            continue;
          }
          JsonNode n = json.readTree(line);
          problems.add(new Problem(n.get("task_id").asText(), n.get("prompt").asText(),
              n.get("canonical_solution").asText(), n.get("test").asText(), n.get("entry_point").asText()));
        }
      }
      return List.copyOf(problems);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }
}
