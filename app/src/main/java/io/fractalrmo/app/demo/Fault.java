package io.fractalrmo.app.demo;

/**
 * The realistic mistakes the demo injects into HumanEval solutions, and how each is expected to
 * fare: a fixable fault is one a protocol rule can repair (a missing import, a too-short time
 * limit); an unfixable one is a wrong answer, which no rule may make pass.
 */
public enum Fault {
  /** The canonical solution, untouched: must pass. */
  NONE(FaultClass.CANONICAL),
  /** An import the code needs was dropped ({@code from typing import List}, {@code import math}). */
  MISSING_IMPORT(FaultClass.FIXABLE),
  /** Correct, but a needless start-up delay takes it past its time limit. */
  SLOW(FaultClass.FIXABLE),
  /** A dropped colon or an unbalanced parenthesis. */
  SYNTAX_SLIP(FaultClass.SYNTAX),
  /** Off by one or a flipped comparison: the tests fail. */
  WRONG_RESULT(FaultClass.UNFIXABLE),
  /** A call the sandbox forbids: {@code os.system}, {@code subprocess}, a socket. */
  FORBIDDEN_CALL(FaultClass.FORBIDDEN);

  private final FaultClass faultClass;

  Fault(FaultClass faultClass) {
    this.faultClass = faultClass;
  }

  public FaultClass faultClass() {
    return faultClass;
  }

  /** How the report groups faults. */
  public enum FaultClass { CANONICAL, FIXABLE, UNFIXABLE, SYNTAX, FORBIDDEN }
}
