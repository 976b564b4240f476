package io.fractalrmo.streams.patterns;

import io.fractalrmo.contracts.ErrorEvent;

/** The pattern key of an error event: {@code CATEGORY|error_type|fix_key} (empty fix key allowed). */
public final class PatternKey {

  private PatternKey() {
  }

  public static String of(ErrorEvent e) {
    return of(e.getCategory().name(), e.getErrorType(), e.getFixKey());
  }

  public static String of(String category, String errorType, String fixKey) {
    return category + "|" + errorType + "|" + (fixKey == null ? "" : fixKey);
  }
}
