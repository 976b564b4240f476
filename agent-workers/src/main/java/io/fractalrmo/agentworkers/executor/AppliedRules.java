package io.fractalrmo.agentworkers.executor;

import io.fractalrmo.agentworkers.rules.RuleBook;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleCondition;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialRule;
import io.fractalrmo.contracts.TrialSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rules that apply to one action, with their parameters checked: in a trial's TREATMENT and
 * GUARD arms the trial's candidate rule first (so that where rules of one kind compete, the
 * candidate is the one applied and recorded), then the RuleBook's active rules whose condition's
 * action type (if any) matches; never the candidate in the CONTROL arm. A what-if replay action
 * (its trial carries a {@code rule_set}) gets exactly that rule set and nothing else. A rule
 * with invalid parameters is dropped with a warning. An action whose attributes say
 * {@code fractal.rules=off} gets no rule at all (see {@link #rulesOff(ActionItem)}).
 */
public final class AppliedRules {

  private static final Logger log = LoggerFactory.getLogger(AppliedRules.class);
  public static final double MAX_TIMEOUT_FACTOR = 4.0;
  public static final long MAX_TIMEOUT_MS = 60_000;
  private static final Pattern MODULE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");
  /** The action attribute that switches protocol rules off for one action ({@value}). */
  public static final String RULES_ATTRIBUTE = "fractal.rules";
  /** The value of {@link #RULES_ATTRIBUTE} that switches them off ({@value}, any case). */
  public static final String RULES_OFF = "off";

  /** One rule, checked. */
  public record Rule(String ruleId, RuleActionKind kind, RuleCondition condition, Map<String, String> parameters) {}

  private final List<Rule> rules;

  private AppliedRules(List<Rule> rules) {
    this.rules = rules;
  }

  /** No rules: what an action with {@code fractal.rules=off} gets. */
  public static AppliedRules none() {
    return new AppliedRules(List.of());
  }

  /**
   * Whether the action's attributes switch protocol rules off ({@code fractal.rules=off}): then
   * neither active rules nor a trial's candidate apply to it.
   */
  public static boolean rulesOff(ActionItem action) {
    Map<String, String> attributes = action.getAttributes();
    String value = attributes == null ? null : attributes.get(RULES_ATTRIBUTE);
    return value != null && RULES_OFF.equalsIgnoreCase(value.strip());
  }

  public static AppliedRules forAction(ActionItem action, RuleBook book) {
    if (rulesOff(action)) {
      return none();
    }
    List<Rule> list = new ArrayList<>();
    TrialSpec trial = action.getTrial();
    if (trial != null && trial.getRuleSet() != null) {
      // a what-if replay: the chosen rule set decides alone (an empty one: no rule)
      for (TrialRule r : trial.getRuleSet()) {
        RuleCondition c = r.getCondition();
        if (c == null || c.getActionType() == null || c.getActionType() == action.getType()) {
          checked(r.getRuleId(), r.getAction(), c).ifPresent(list::add);
        }
      }
      return new AppliedRules(List.copyOf(list));
    }
    String candidate = trial == null ? null : trial.getRuleId();
    if (trial != null && (trial.getArm() == TrialArm.TREATMENT || trial.getArm() == TrialArm.GUARD)) {
      // first: the trial measures the candidate, not an active rule of the same kind
      checked(trial.getRuleId(), trial.getRuleAction(), null).ifPresent(list::add);
    }
    List<ProtocolRule> active = book == null ? List.of() : book.activeRules();
    for (ProtocolRule r : active) {
      if (r.getRuleId().equals(candidate)) {
        continue; // the trial decides about this rule: CONTROL without it, TREATMENT with it (below)
      }
      RuleCondition c = r.getCondition();
      if (c != null && c.getActionType() != null && c.getActionType() != action.getType()) {
        continue;
      }
      checked(r.getRuleId(), r.getAction(), c).ifPresent(list::add);
    }
    return new AppliedRules(List.copyOf(list));
  }

  private static Optional<Rule> checked(String id, RuleAction action, RuleCondition condition) {
    if (action == null || action.getKind() == null || action.getKind() == RuleActionKind.UNKNOWN) {
      log.warn("rule {} has no known action kind; ignored", id);
      return Optional.empty();
    }
    Map<String, String> p = action.getParameters() == null ? Map.of() : action.getParameters();
    switch (action.getKind()) {
      case INCREASE_TIMEOUT -> {
        String f = p.getOrDefault("factor", "2.0");
        try {
          double factor = Double.parseDouble(f.trim());
          if (!Double.isFinite(factor) || factor <= 1.0) {
            log.warn("rule {}: INCREASE_TIMEOUT factor {} must be a number > 1; rule ignored", id, f);
            return Optional.empty();
          }
        } catch (NumberFormatException e) {
          log.warn("rule {}: INCREASE_TIMEOUT factor '{}' is not a number; rule ignored", id, f);
          return Optional.empty();
        }
      }
      case ADD_MISSING_IMPORTS -> {
        String imports = p.get("imports");
        if (imports != null && !imports.isBlank()) {
          for (String m : imports.split(",")) {
            if (!MODULE.matcher(m.trim()).matches()) {
              log.warn("rule {}: ADD_MISSING_IMPORTS import '{}' is not a module name; rule ignored", id, m);
              return Optional.empty();
            }
          }
        }
      }
      case PROMPT_GUIDELINE -> {
        if (guideline(p).isEmpty()) {
          log.warn("rule {}: PROMPT_GUIDELINE without a 'guideline' parameter; rule ignored", id);
          return Optional.empty();
        }
      }
      default -> { }
    }
    return Optional.of(new Rule(id, action.getKind(), condition, p));
  }

  private static Optional<String> guideline(Map<String, String> p) {
    String g = p.getOrDefault("guideline", p.get("text"));
    return g == null || g.isBlank() ? Optional.empty() : Optional.of(g.strip());
  }

  public Optional<Rule> first(RuleActionKind kind) {
    return rules.stream().filter(r -> r.kind() == kind).findFirst();
  }

  public List<Rule> all(RuleActionKind kind) {
    return rules.stream().filter(r -> r.kind() == kind).toList();
  }

  public List<Rule> all() {
    return rules;
  }

  /** The timeout after an INCREASE_TIMEOUT rule: timeout × min(factor, 4), at most 60 s. */
  public static long increasedTimeout(Rule rule, long timeoutMs) {
    double factor = Math.min(MAX_TIMEOUT_FACTOR,
        Double.parseDouble(rule.parameters().getOrDefault("factor", "2.0").trim()));
    return Math.max(timeoutMs, Math.min(MAX_TIMEOUT_MS, (long) Math.ceil(timeoutMs * factor)));
  }

  /**
   * The ADD_MISSING_IMPORTS rule that adds an import of {@code module}: the first such rule (in
   * this list's order: a TREATMENT candidate, then the active rules) whose allowed modules contain
   * it, or that allows any module.
   */
  public Optional<Rule> importRuleFor(String module) {
    if (module == null || module.isBlank()) {
      return Optional.empty();
    }
    return all(RuleActionKind.ADD_MISSING_IMPORTS).stream()
        .filter(r -> allows(r, module))
        .findFirst();
  }

  /** Whether an ADD_MISSING_IMPORTS rule may add an import of {@code module}. */
  public static boolean allows(Rule rule, String module) {
    Set<String> allowed = allowedModules(rule);
    return allowed.isEmpty() || allowed.contains(module);
  }

  /** Modules an ADD_MISSING_IMPORTS rule may add; empty = any standard-library/typing module. */
  public static Set<String> allowedModules(Rule rule) {
    String imports = rule.parameters().get("imports");
    if (imports != null && !imports.isBlank()) {
      Set<String> s = new LinkedHashSet<>();
      Arrays.stream(imports.split(",")).map(String::trim).forEach(s::add);
      return s;
    }
    if (rule.condition() != null && rule.condition().getFixKey() != null
        && !rule.condition().getFixKey().isBlank()) {
      return Set.of(rule.condition().getFixKey());
    }
    return Set.of();
  }

  public static List<String> guidelines(List<Rule> rules) {
    return rules.stream().map(r -> guideline(r.parameters())).flatMap(Optional::stream).toList();
  }

  /** The findings a BLOCK_AND_ALERT rule stops execution for. */
  public static List<Finding> blockedFindings(Rule rule, List<Finding> findings) {
    Set<String> wanted = new LinkedHashSet<>();
    String param = rule.parameters().get("finding_type");
    if (param != null && !param.isBlank()) {
      wanted.add(param.trim());
    }
    RuleCondition c = rule.condition();
    if (c != null) {
      if (c.getFixKey() != null && !c.getFixKey().isBlank()) {
        wanted.add(c.getFixKey());
      }
      if (c.getErrorType() != null && !c.getErrorType().isBlank() && !"*".equals(c.getErrorType())
          && !"SecurityBlocked".equals(c.getErrorType())) {
        wanted.add(c.getErrorType());
      }
    }
    ErrorCategory category = c == null ? ErrorCategory.SECURITY : c.getCategory();
    List<Finding> hit = new ArrayList<>();
    for (Finding f : findings) {
      boolean match = wanted.isEmpty()
          ? aspectMatches(f.getAspect(), category)
          : wanted.contains(f.getType());
      if (match) {
        hit.add(f);
      }
    }
    return hit;
  }

  private static boolean aspectMatches(Aspect aspect, ErrorCategory category) {
    return category == null || category == ErrorCategory.UNKNOWN || aspect.name().equals(category.name());
  }
}
