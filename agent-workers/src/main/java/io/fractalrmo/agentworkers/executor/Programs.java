package io.fractalrmo.agentworkers.executor;

import java.util.List;
import java.util.Set;

/** How imports are added to code (how an action's parts run together: sandbox.Program). */
public final class Programs {

  private Programs() {}

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
