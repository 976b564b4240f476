package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleCondition;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which actions a rule concerns. A rule applies to every action of its condition's action type
 * (all types when unset), as the executor applies it; BLOCK actions are never run, so no rule
 * changes them. Among those, an action is <i>relevant</i> to a rule when it carries a finding
 * the rule speaks about — the findings a BLOCK_AND_ALERT rule would block (the same selection as
 * the executor's {@code AppliedRules.blockedFindings}), for other kinds a finding of the rule's
 * category (aspect) or its fix key: the GUARD arm takes relevant successes first, because they
 * are where a rule can break what works.
 */
public final class RuleScope {

  private RuleScope() {
  }

  public static boolean inScope(RuleCondition condition, ActionType type) {
    if (type == ActionType.BLOCK) {
      return false;
    }
    return condition == null || condition.getActionType() == null
        || condition.getActionType() == type;
  }

  public static boolean relevant(RuleCondition condition, RuleAction action, List<Finding> findings) {
    if (action.getKind() == RuleActionKind.BLOCK_AND_ALERT) {
      return !blocked(condition, action, findings).isEmpty();
    }
    String category = condition.getCategory() == null ? "" : condition.getCategory().name();
    String fixKey = condition.getFixKey();
    return findings.stream().anyMatch(f -> f.getAspect().name().equals(category)
        || (fixKey != null && !fixKey.isBlank() && fixKey.equals(f.getType())));
  }

  /** The findings a BLOCK_AND_ALERT rule stops an action for (mirrors the executor's choice). */
  public static List<Finding> blocked(RuleCondition condition, RuleAction action,
      List<Finding> findings) {
    Set<String> wanted = new LinkedHashSet<>();
    String param = action.getParameters().get("finding_type");
    if (param != null && !param.isBlank()) {
      wanted.add(param.trim());
    }
    if (condition != null) {
      if (condition.getFixKey() != null && !condition.getFixKey().isBlank()) {
        wanted.add(condition.getFixKey());
      }
      String errorType = condition.getErrorType();
      if (errorType != null && !errorType.isBlank() && !"*".equals(errorType)
          && !"SecurityBlocked".equals(errorType)) {
        wanted.add(errorType);
      }
    }
    ErrorCategory category = condition == null ? ErrorCategory.SECURITY : condition.getCategory();
    List<Finding> hit = new ArrayList<>();
    for (Finding f : findings) {
      boolean match = wanted.isEmpty()
          ? category == null || category == ErrorCategory.UNKNOWN
              || f.getAspect().name().equals(category.name())
          : wanted.contains(f.getType());
      if (match) {
        hit.add(f);
      }
    }
    return hit;
  }
}
