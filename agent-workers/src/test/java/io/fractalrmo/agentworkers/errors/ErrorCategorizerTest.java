package io.fractalrmo.agentworkers.errors;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper.PythonNames;
import io.fractalrmo.agentworkers.sandbox.PythonError;
import io.fractalrmo.contracts.ErrorCategory;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ErrorCategorizerTest {

  private final ErrorCategorizer categorizer = new ErrorCategorizer(new PythonNames(
      Set.of("math", "os", "collections", "typing", "re"), Set.of("List", "Dict", "Optional"), "3.11"));

  @ParameterizedTest(name = "{0}: {1} -> {3}|{4}")
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      "SyntaxError         | invalid syntax                                  | false | SYNTAX      | -",
      "IndentationError    | expected an indented block                      | false | SYNTAX      | -",
      "AssertionError      | -                                               | false | LOGIC       | -",
      // a missing module or typing name is a dependency problem, with the module as fix key
      "NameError           | name 'math' is not defined                      | false | DEPENDENCY  | math",
      "NameError           | name 'List' is not defined                      | false | DEPENDENCY  | typing",
      // the same exception for a name no import provides is a plain runtime bug
      "NameError           | name 'resutl' is not defined                    | false | RUNTIME     | resutl",
      "ModuleNotFoundError | No module named 'numpy.linalg'                  | false | DEPENDENCY  | numpy",
      "ImportError         | cannot import name 'Foo' from 'typing' (x.py)   | false | DEPENDENCY  | typing",
      // a timeout is PERFORMANCE whatever exception type it interrupted
      "KeyboardInterrupt   | -                                               | true  | PERFORMANCE | timeout",
      "ZeroDivisionError   | division by zero                                | false | RUNTIME     | -",
      "MemoryError         | -                                               | false | RUNTIME     | -",
  })
  void shouldCategoriseFromTypeAndContext(String type, String message, boolean timedOut,
      ErrorCategory category, String fixKey) {
    Categorized c = categorizer.categorize(new PythonError(type, message == null ? "" : message, null, 1), timedOut);
    assertThat(c.category()).isEqualTo(category);
    assertThat(c.fixKey()).isEqualTo(fixKey);
  }

  @org.junit.jupiter.api.Test
  void shouldFallBackToUnknownWithoutAnErrorType() {
    assertThat(categorizer.categorize(null, false).category()).isEqualTo(ErrorCategory.UNKNOWN);
    assertThat(categorizer.categorize(new PythonError("TimeoutError", "x", null, null), true).errorType())
        .isEqualTo("TimeoutError");
    assertThat(categorizer.securityBlocked("EVAL_CALL").patternKey()).isEqualTo("SECURITY|SecurityBlocked|EVAL_CALL");
  }
}
