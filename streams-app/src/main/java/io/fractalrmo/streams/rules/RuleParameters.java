package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.ErrorPattern;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Parameters of a rule's action ({@code RuleAction.parameters}), by kind. Executors read these
 * names:
 * <ul>
 *   <li>ADD_MISSING_IMPORTS: {@code imports} = module(s) to import, comma-separated (the
 *       pattern's fix key; empty when unknown: the executor infers it from the NameError)</li>
 *   <li>INCREASE_TIMEOUT: {@code factor} (2.0), {@code max_timeout_ms} (60000)</li>
 *   <li>PRE_VALIDATE_SYNTAX: none</li>
 *   <li>BLOCK_AND_ALERT: {@code error_type}</li>
 *   <li>PROMPT_GUIDELINE: {@code guideline}, a sentence for the model's prompt</li>
 * </ul>
 */
public final class RuleParameters {

  public static final String IMPORTS = "imports";
  public static final String FACTOR = "factor";
  public static final String MAX_TIMEOUT_MS = "max_timeout_ms";
  public static final String ERROR_TYPE = "error_type";
  public static final String GUIDELINE = "guideline";
  public static final double DEFAULT_TIMEOUT_FACTOR = 2.0;
  public static final long DEFAULT_MAX_TIMEOUT_MS = 60_000;

  private RuleParameters() {
  }

  public static Map<String, String> of(ErrorPattern p) {
    Map<String, String> m = new LinkedHashMap<>();
    switch (p.getSuggestedAction()) {
      case ADD_MISSING_IMPORTS -> m.put(IMPORTS, p.getFixKey() == null ? "" : p.getFixKey());
      case INCREASE_TIMEOUT -> {
        m.put(FACTOR, String.valueOf(DEFAULT_TIMEOUT_FACTOR));
        m.put(MAX_TIMEOUT_MS, String.valueOf(DEFAULT_MAX_TIMEOUT_MS));
      }
      case BLOCK_AND_ALERT -> m.put(ERROR_TYPE, p.getErrorType());
      case PROMPT_GUIDELINE -> m.put(GUIDELINE, "Avoid " + p.getErrorType()
          + (p.getExamples().isEmpty() ? "" : " such as: " + p.getExamples().get(0).getMessage()));
      default -> {
      }
    }
    return m;
  }

  static double factor(Map<String, String> parameters) {
    try {
      return Double.parseDouble(parameters.getOrDefault(FACTOR, "" + DEFAULT_TIMEOUT_FACTOR));
    } catch (NumberFormatException e) {
      return DEFAULT_TIMEOUT_FACTOR;
    }
  }
}
