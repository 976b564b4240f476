package io.fractalrmo.connectors.outbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.contracts.Language;
import io.fractalrmo.contracts.Task;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The JSON shape of a task, as an upstream system writes it into {@code outbox.payload} and as
 * {@code fractal submit --json} reads it: an object with the snake_case fields of the Task schema.
 *
 * <pre>{@code
 * {"task_id": "t-42",                 // optional: defaults to outbox.aggregateid / a new UUID
 *  "description": "add two numbers",  // description or code is required
 *  "priority": 3,                     // 1 (highest) .. 5, default 3
 *  "language": "PYTHON",              // default PYTHON
 *  "code": "def add(a, b): ...",      // optional candidate solution
 *  "entry_point": "add",              // optional
 *  "test_code": "def check(f): ...",  // optional
 *  "time_limit_ms": 10000,            // > 0, default 10000
 *  "memory_limit_mb": 256,            // optional, > 0
 *  "validation_level": 3,             // 1..4, default 3
 *  "source": "billing",               // default: the caller's (outbox, cli)
 *  "submitted_at": "2026-11-25T14:00:00Z",  // ISO-8601 or epoch millis, default now
 *  "attributes": {"team": "a"}}       // string values only
 * }</pre>
 *
 * Unknown fields are rejected, so that a misspelt {@code test_cod} cannot silently drop the tests.
 */
public final class TaskJson {

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Set<String> FIELDS = Set.of("task_id", "description", "priority",
      "language", "code", "entry_point", "test_code", "time_limit_ms", "memory_limit_mb",
      "validation_level", "source", "submitted_at", "attributes");

  private TaskJson() {
  }

  /**
   * Reads a task.
   *
   * @param json the document
   * @param defaultTaskId used when the document has no task_id (must not be null then)
   * @param defaultSource used when the document has no source
   * @param now used when the document has no submitted_at
   */
  public static Task parse(String json, String defaultTaskId, String defaultSource, Instant now)
      throws InvalidTaskException {
    return parse(json, defaultTaskId, true, defaultSource, now);
  }

  /**
   * Reads a task handed in directly (e.g. {@code fractal submit --json}): without a task_id in
   * the document it gets a new UUID.
   */
  public static Task parseSubmission(String json, String defaultSource, Instant now)
      throws InvalidTaskException {
    return parse(json, UUID.randomUUID().toString(), false, defaultSource, now);
  }

  private static Task parse(String json, String defaultTaskId, boolean mustMatch,
      String defaultSource, Instant now) throws InvalidTaskException {
    if (json == null || json.isBlank()) {
      throw new InvalidTaskException("payload is empty");
    }
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new InvalidTaskException("payload is not JSON: " + e.getOriginalMessage(), e);
    }
    // A jsonb column read through a JSON converter may arrive as a JSON string holding the object.
    if (root != null && root.isTextual()) {
      return parse(root.asText(), defaultTaskId, mustMatch, defaultSource, now);
    }
    if (root == null || !root.isObject()) {
      throw new InvalidTaskException("payload must be a JSON object with the Task's fields");
    }
    for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw new InvalidTaskException("unknown field '" + name + "' (expected " + FIELDS + ")");
      }
    }
    String taskId = text(root, "task_id", defaultTaskId);
    if (taskId == null || taskId.isBlank()) {
      throw new InvalidTaskException("task_id is missing");
    }
    if (mustMatch && defaultTaskId != null && root.hasNonNull("task_id")
        && !taskId.equals(defaultTaskId)) {
      throw new InvalidTaskException(
          "task_id '" + taskId + "' differs from the outbox aggregateid '" + defaultTaskId + "'");
    }
    String description = text(root, "description", "");
    String code = text(root, "code", null);
    if (description.isBlank() && (code == null || code.isBlank())) {
      throw new InvalidTaskException("a task needs a description or code");
    }
    int priority = (int) number(root, "priority", 3);
    if (priority < 1 || priority > 5) {
      throw new InvalidTaskException("priority must be 1..5, was " + priority);
    }
    long timeLimit = number(root, "time_limit_ms", 10_000);
    if (timeLimit <= 0) {
      throw new InvalidTaskException("time_limit_ms must be > 0, was " + timeLimit);
    }
    Integer memory = root.hasNonNull("memory_limit_mb")
        ? (int) number(root, "memory_limit_mb", 0) : null;
    if (memory != null && memory <= 0) {
      throw new InvalidTaskException("memory_limit_mb must be > 0, was " + memory);
    }
    int level = (int) number(root, "validation_level", 3);
    if (level < 1 || level > 4) {
      throw new InvalidTaskException("validation_level must be 1..4, was " + level);
    }
    Language language;
    try {
      language = Language.valueOf(text(root, "language", "PYTHON"));
    } catch (IllegalArgumentException e) {
      throw new InvalidTaskException("language must be one of PYTHON, was "
          + root.get("language"));
    }
    if (language != Language.PYTHON) {
      throw new InvalidTaskException("only PYTHON tasks are supported, was " + language);
    }
    return Task.newBuilder()
        .setTaskId(taskId)
        .setDescription(description)
        .setPriority(priority)
        .setLanguage(language)
        .setCode(code)
        .setEntryPoint(text(root, "entry_point", null))
        .setTestCode(text(root, "test_code", null))
        .setTimeLimitMs(timeLimit)
        .setMemoryLimitMb(memory)
        .setValidationLevel(level)
        .setSource(text(root, "source", defaultSource))
        .setSubmittedAt(instant(root, now))
        .setAttributes(attributes(root))
        .build();
  }

  /** The task as the JSON document {@link #parse} reads. */
  public static String toJson(Task task) {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("task_id", task.getTaskId());
    o.put("description", task.getDescription());
    o.put("priority", task.getPriority());
    o.put("language", task.getLanguage().name());
    putIfSet(o, "code", task.getCode());
    putIfSet(o, "entry_point", task.getEntryPoint());
    putIfSet(o, "test_code", task.getTestCode());
    o.put("time_limit_ms", task.getTimeLimitMs());
    if (task.getMemoryLimitMb() != null) {
      o.put("memory_limit_mb", task.getMemoryLimitMb());
    }
    o.put("validation_level", task.getValidationLevel());
    o.put("source", task.getSource());
    o.put("submitted_at", task.getSubmittedAt().toString());
    ObjectNode attributes = o.putObject("attributes");
    task.getAttributes().forEach(attributes::put);
    return o.toString();
  }

  private static void putIfSet(ObjectNode o, String name, String value) {
    if (value != null) {
      o.put(name, value);
    }
  }

  private static String text(JsonNode root, String name, String fallback)
      throws InvalidTaskException {
    JsonNode node = root.get(name);
    if (node == null || node.isNull()) {
      return fallback;
    }
    if (!node.isTextual()) {
      throw new InvalidTaskException(name + " must be a string, was " + node.getNodeType());
    }
    return node.asText();
  }

  private static long number(JsonNode root, String name, long fallback)
      throws InvalidTaskException {
    JsonNode node = root.get(name);
    if (node == null || node.isNull()) {
      return fallback;
    }
    if (!node.isIntegralNumber() || !node.canConvertToLong()) {
      throw new InvalidTaskException(name + " must be an integer, was " + node);
    }
    return node.asLong();
  }

  private static Instant instant(JsonNode root, Instant now) throws InvalidTaskException {
    JsonNode node = root.get("submitted_at");
    if (node == null || node.isNull()) {
      return now;
    }
    if (node.isIntegralNumber()) {
      return Instant.ofEpochMilli(node.asLong());
    }
    try {
      return Instant.parse(node.asText());
    } catch (DateTimeParseException e) {
      throw new InvalidTaskException(
          "submitted_at must be ISO-8601 or epoch millis, was " + node, e);
    }
  }

  private static Map<String, String> attributes(JsonNode root) throws InvalidTaskException {
    JsonNode node = root.get("attributes");
    Map<String, String> out = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      return out;
    }
    if (!node.isObject()) {
      throw new InvalidTaskException("attributes must be an object of strings");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new InvalidTaskException("attribute '" + e.getKey() + "' must be a string");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }
}
