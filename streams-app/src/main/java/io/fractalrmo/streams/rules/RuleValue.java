package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.RuleActionKind;

/**
 * What a rule of each kind improves, and so what its trial must show (issue 16):
 * <ul>
 *   <li>{@link #FEWER_FAILURES} — ADD_MISSING_IMPORTS, INCREASE_TIMEOUT: the failed actions fail
 *       less often with it (one-sided Fisher exact test), at a bounded cost;</li>
 *   <li>{@link #LESS_COST} — PRE_VALIDATE_SYNTAX, BLOCK_AND_ALERT: the same verdicts, reached
 *       with less cost (exact one-sided sign test on the paired costs), no new failures;</li>
 *   <li>{@link #BETTER_GENERATED_CODE} — PROMPT_GUIDELINE: the code a model generates with it
 *       fails less often; it cannot show anything on actions that come with their code.</li>
 * </ul>
 */
public enum RuleValue {
  FEWER_FAILURES("fewer failures"),
  LESS_COST("the same verdicts with less cost"),
  BETTER_GENERATED_CODE("better generated code");

  private final String words;

  RuleValue(String words) {
    this.words = words;
  }

  public String words() {
    return words;
  }

  public static RuleValue of(RuleActionKind kind) {
    return switch (kind) {
      case PRE_VALIDATE_SYNTAX, BLOCK_AND_ALERT -> LESS_COST;
      case PROMPT_GUIDELINE -> BETTER_GENERATED_CODE;
      default -> FEWER_FAILURES;
    };
  }
}
