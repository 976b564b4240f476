/**
 * The executor's per-record logic: {@link io.fractalrmo.agentworkers.executor.ExecutorHandler}
 * (a {@code RecordHandler<ActionItem>}), protocol rules as applied to one action
 * ({@link io.fractalrmo.agentworkers.executor.AppliedRules}), program composition
 * ({@link io.fractalrmo.agentworkers.executor.Programs}) and the optional model backend
 * ({@link io.fractalrmo.agentworkers.executor.OpenAiCodeGenerator}).
 */
package io.fractalrmo.agentworkers.executor;
