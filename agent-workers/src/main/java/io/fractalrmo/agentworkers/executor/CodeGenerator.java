package io.fractalrmo.agentworkers.executor;

import java.util.List;

/** A model backend that writes code for GENERATE_CODE actions. */
public interface CodeGenerator {

  /**
   * Python source implementing {@code entryPoint} for {@code prompt}, following the
   * {@code guidelines} (texts of active PROMPT_GUIDELINE rules).
   */
  String generate(String prompt, String entryPoint, List<String> guidelines) throws Exception;
}
