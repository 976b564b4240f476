package io.fractalrmo.streams.patterns;

import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.RuleActionKind;
import java.util.Set;

/**
 * What a pattern suggests, in one place: the rule action kind and the fix in words.
 * <ul>
 *   <li>NameError / ModuleNotFoundError / ImportError (DEPENDENCY, or any category with a fix
 *       key naming the module) → ADD_MISSING_IMPORTS</li>
 *   <li>PERFORMANCE, or a TimeoutError → INCREASE_TIMEOUT</li>
 *   <li>SYNTAX → PRE_VALIDATE_SYNTAX</li>
 *   <li>SECURITY → BLOCK_AND_ALERT</li>
 *   <li>LOGIC → PROMPT_GUIDELINE (changes nothing without a model backend)</li>
 *   <li>anything else → UNKNOWN: a pattern, but no rule is proposed</li>
 * </ul>
 */
public final class FixCatalog {

  private static final Set<String> MISSING_NAME =
      Set.of("NameError", "ModuleNotFoundError", "ImportError");

  private FixCatalog() {
  }

  public static RuleActionKind suggestedAction(ErrorCategory category, String errorType,
      String fixKey) {
    boolean hasFixKey = fixKey != null && !fixKey.isBlank();
    if (MISSING_NAME.contains(errorType)
        && (category == ErrorCategory.DEPENDENCY || hasFixKey)) {
      return RuleActionKind.ADD_MISSING_IMPORTS;
    }
    if (category == ErrorCategory.SECURITY) {
      return RuleActionKind.BLOCK_AND_ALERT;
    }
    if (category == ErrorCategory.PERFORMANCE || "TimeoutError".equals(errorType)) {
      return RuleActionKind.INCREASE_TIMEOUT;
    }
    if (category == ErrorCategory.SYNTAX) {
      return RuleActionKind.PRE_VALIDATE_SYNTAX;
    }
    if (category == ErrorCategory.LOGIC) {
      return RuleActionKind.PROMPT_GUIDELINE;
    }
    return RuleActionKind.UNKNOWN;
  }

  /**
   * Whether the fix for this category is the same whatever the error's message says: a SYNTAX
   * error is fixed (failed fast) by compiling first, whichever syntax error it is.
   */
  public static boolean fixIgnoresMessage(ErrorCategory category) {
    return category == ErrorCategory.SYNTAX;
  }

  public static String suggestedFix(RuleActionKind kind, ErrorCategory category,
      String errorType, String fixKey) {
    return switch (kind) {
      case ADD_MISSING_IMPORTS -> fixKey != null && !fixKey.isBlank()
          ? "add `import " + fixKey + "` (or the missing `from " + fixKey
              + " import ...`) before running the code"
          : "add the missing import before running the code";
      case INCREASE_TIMEOUT -> "re-run once with a longer timeout (bounded)";
      case PRE_VALIDATE_SYNTAX -> "compile the code before running it and fail fast on "
          + errorType;
      case BLOCK_AND_ALERT -> "do not run code with this security issue; alert an operator";
      case PROMPT_GUIDELINE -> "add a guideline against " + errorType
          + " to the code-generation prompt";
      default -> "no automatic fix known for " + category + " " + errorType;
    };
  }
}
