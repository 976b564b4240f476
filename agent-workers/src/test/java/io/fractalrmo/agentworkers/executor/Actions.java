package io.fractalrmo.agentworkers.executor;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ExecutionConstraints;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleCondition;
import io.fractalrmo.contracts.RuleEvidence;
import io.fractalrmo.contracts.RuleStatus;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Test mother: pre-filled builders so a test sets only what it is about. */
public final class Actions {

  private Actions() {}

  public static ActionItem.Builder execute(String code) {
    return execute(code, null, null);
  }

  public static ActionItem.Builder execute(String code, String testCode, String entryPoint) {
    String id = UUID.randomUUID().toString();
    return ActionItem.newBuilder()
        .setActionId("action-" + id)
        .setTaskId("task-" + id)
        .setType(ActionType.EXECUTE)
        .setInput(ExecutionInput.newBuilder().setCode(code).setTestCode(testCode).setEntryPoint(entryPoint).build())
        .setConstraints(constraints(5_000))
        .setCreatedAt(Instant.now());
  }

  public static ExecutionConstraints constraints(long timeoutMs) {
    return ExecutionConstraints.newBuilder().setTimeoutMs(timeoutMs).build();
  }

  public static ProtocolRule rule(String id, RuleActionKind kind, Map<String, String> params,
      ErrorCategory category, String errorType, String fixKey) {
    Instant now = Instant.now();
    return ProtocolRule.newBuilder()
        .setRuleId(id)
        .setVersion(1)
        .setDescription("test rule " + id)
        .setCondition(RuleCondition.newBuilder().setCategory(category).setErrorType(errorType).setFixKey(fixKey).build())
        .setAction(RuleAction.newBuilder().setKind(kind).setParameters(params).build())
        .setConfidence(0.9)
        .setStatus(RuleStatus.ACTIVE)
        .setEvidence(RuleEvidence.newBuilder().setPatternKey(category + "|" + errorType + "|" + fixKey)
            .setFrequency(3).setWindowStart(now).setWindowEnd(now).setExamples(List.of()).build())
        .setCreatedAt(now)
        .setUpdatedAt(now)
        .build();
  }
}
