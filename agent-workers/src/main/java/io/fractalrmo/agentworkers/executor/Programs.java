package io.fractalrmo.agentworkers.executor;

import java.util.List;
import java.util.Set;

/** How the pieces of an action become one program, and how imports are added to code. */
public final class Programs {

  private Programs() {}

  /**
   * The solution, then the tests, then {@code check(<entry_point>)} when the tests define
   * {@code check} and an entry point is given — the pipeline's EXECUTE semantics.
   */
  public static String compose(String code, String testCode, String entryPoint, boolean testsDefineCheck) {
    StringBuilder p = new StringBuilder(code);
    if (!code.endsWith("\n")) {
      p.append('\n');
    }
    if (testCode != null && !testCode.isBlank()) {
      p.append("\n\n").append(testCode);
      if (!testCode.endsWith("\n")) {
        p.append('\n');
      }
      if (testsDefineCheck && entryPoint != null && !entryPoint.isBlank()) {
        p.append("\n\ncheck(").append(entryPoint).append(")\n");
      }
    }
    return p.toString();
  }

  /** {@code import m} / {@code from typing import X} lines, after any {@code __future__} imports. */
  public static String addImports(String code, List<String> statements) {
    if (statements.isEmpty()) {
      return code;
    }
    String[] lines = code.split("\n", -1);
    int insertAt = 0;
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].startsWith("from __future__ import")) {
        insertAt = i + 1;
      }
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < lines.length; i++) {
      if (i == insertAt) {
        for (String s : Set.copyOf(statements).stream().sorted().toList()) {
          out.append(s).append('\n');
        }
      }
      out.append(lines[i]);
      if (i < lines.length - 1) {
        out.append('\n');
      }
    }
    return out.toString();
  }
}
