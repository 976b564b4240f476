package io.fractalrmo.app.replay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleCondition;
import io.fractalrmo.contracts.TrialRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A what-if rule set read from a JSON file: an array of rules, each
 * <pre>{"rule_id": "...", "condition": {"category": "SYNTAX", "error_type": "SyntaxError",
 *   "action_type": null, "fix_key": null}, "action": {"kind": "PRE_VALIDATE_SYNTAX",
 *   "parameters": {}}}</pre>
 * — the fields of a {@code ProtocolRule} that decide what an executor does, so a rule record
 * written as JSON (e.g. {@code kcat} output through the registry) can be used as it is; other
 * fields are ignored. An object with a {@code rules} array is read the same way.
 */
public final class ReplayRules {

  private ReplayRules() {
  }

  public static List<TrialRule> read(Path file) throws IOException {
    JsonNode root = new ObjectMapper().readTree(Files.readString(file));
    JsonNode array = root.isArray() ? root : root.path("rules");
    if (!array.isArray()) {
      throw new IllegalArgumentException(file + ": expected a JSON array of rules (or an object "
          + "with a \"rules\" array)");
    }
    List<TrialRule> rules = new ArrayList<>();
    int i = 0;
    for (JsonNode r : array) {
      i++;
      String where = file + ": rule " + i;
      JsonNode c = r.path("condition");
      JsonNode a = r.path("action");
      Map<String, String> parameters = new LinkedHashMap<>();
      a.path("parameters").fields().forEachRemaining(e -> parameters.put(e.getKey(),
          e.getValue().asText()));
      RuleActionKind kind = enumOf(RuleActionKind.class, text(a, "kind", where), where);
      String id = r.hasNonNull("rule_id") ? r.get("rule_id").asText()
          : "file-rule-" + i + "-" + kind.name().toLowerCase(Locale.ROOT);
      rules.add(TrialRule.newBuilder()
          .setRuleId(id)
          .setCondition(RuleCondition.newBuilder()
              .setCategory(enumOf(ErrorCategory.class, text(c, "category", where), where))
              .setErrorType(c.hasNonNull("error_type") ? c.get("error_type").asText() : "*")
              .setActionType(c.hasNonNull("action_type")
                  ? enumOf(ActionType.class, c.get("action_type").asText(), where) : null)
              .setFixKey(c.hasNonNull("fix_key") ? c.get("fix_key").asText() : null)
              .build())
          .setAction(RuleAction.newBuilder().setKind(kind).setParameters(parameters).build())
          .build());
    }
    return rules;
  }

  private static String text(JsonNode n, String field, String where) {
    if (!n.hasNonNull(field)) {
      throw new IllegalArgumentException(where + ": missing " + field);
    }
    return n.get(field).asText();
  }

  private static <E extends Enum<E>> E enumOf(Class<E> type, String value, String where) {
    try {
      return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + value + " is not a " + type.getSimpleName());
    }
  }
}
