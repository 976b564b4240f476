package io.fractalrmo.agentworkers.errors;

import io.fractalrmo.contracts.ErrorCategory;

/** Category, error type and fix key of a failure: pattern key = {@code CATEGORY|error_type|fix_key}. */
public record Categorized(ErrorCategory category, String errorType, String fixKey) {

  public String patternKey() {
    return category.name() + "|" + errorType + "|" + (fixKey == null ? "" : fixKey);
  }
}
