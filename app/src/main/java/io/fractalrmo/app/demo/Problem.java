package io.fractalrmo.app.demo;

import java.util.Objects;

/**
 * One HumanEval problem: the prompt (imports, signature, docstring), the canonical body, the
 * tests ({@code check(candidate)}) and the entry point.
 */
public record Problem(String id, String prompt, String canonicalSolution, String test,
    String entryPoint) {

  public Problem {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(canonicalSolution, "canonicalSolution");
    Objects.requireNonNull(test, "test");
    Objects.requireNonNull(entryPoint, "entryPoint");
  }

  /** The complete canonical program: prompt followed by the body. */
  public String canonicalCode() {
    return prompt + canonicalSolution;
  }

  /** The number after {@code HumanEval/}, or -1. */
  public int number() {
    int slash = id.lastIndexOf('/');
    try {
      return Integer.parseInt(id.substring(slash + 1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
