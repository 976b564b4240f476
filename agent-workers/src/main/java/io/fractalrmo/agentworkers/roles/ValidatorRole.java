package io.fractalrmo.agentworkers.roles;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.bench.ZeroCost;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.validator.ValidatorHandler;
import io.fractalrmo.agentworkers.worker.WorkerGroup;
import io.fractalrmo.agentworkers.worker.WorkerSpec;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.runtime.settings.Settings;
import io.fractalrmo.contracts.InputLimits;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The validators: {@code instances} workers in group {@code fractal-validator} on
 * {@code fractal.execution-results}, sharing one Python sandbox; each handler slot has its own
 * analysis helper process. Settings: {@link RoleSettings#validator()} ({@code sandbox.*},
 * {@code limits.*} as for {@link ExecutorRole}; {@value ZeroCost#SETTING}: benchmark mode, every
 * result answered at once with a failed outcome, nothing run).
 */
public final class ValidatorRole {

  public static final String NAME = "validator";

  private ValidatorRole() {
  }

  /** Starts the validators and returns once every worker has joined the group. */
  public static RunningRole start(Endpoints endpoints, RoleOptions options) {
    Settings settings = RoleSettings.validator().parse(options.settings());
    Map<String, Object> serdes = RoleSupport.serdeConfig(endpoints, settings);
    List<AutoCloseable> shared = new ArrayList<>();
    RoleSupport.InstanceResources helpers = new RoleSupport.InstanceResources();
    shared.add(helpers);
    try {
      if (settings.getBoolean(ZeroCost.SETTING)) {
        // benchmark mode: the same workers and group, no sandbox (nothing runs)
        WorkerSpec<ExecutionResult> spec = options.applyTo(WorkerSpec.of(NAME, NAME,
            RoleSupport.groupId(endpoints.topics(), NAME),
            endpoints.topics().executionResults().name(), ExecutionResult.class,
            agentId -> ZeroCost.validator(agentId, endpoints.topics(), Clock.systemUTC())), settings);
        return RunningRole.startAll(NAME,
            List.of(() -> WorkerGroup.start(endpoints, spec, options.instances(), serdes)), shared);
      }
      PythonSandbox sandbox = PythonSandbox.create(RoleSettings.sandboxOptions(settings,
          RoleSupport.warmPool(settings, options)));
      shared.add(sandbox);
      InputLimits limits = RoleSettings.inputLimits(settings);
      WorkerSpec<ExecutionResult> spec = options.applyTo(WorkerSpec.of(NAME, NAME,
          RoleSupport.groupId(endpoints.topics(), NAME),
          endpoints.topics().executionResults().name(), ExecutionResult.class,
          agentId -> new ValidatorHandler(agentId, endpoints.topics(), sandbox,
              helpers.add(new PythonAnalysisHelper()), Clock.systemUTC(), limits)), settings);
      return RunningRole.startAll(NAME,
          List.of(() -> WorkerGroup.start(endpoints, spec, options.instances(), serdes)), shared);
    } catch (RuntimeException e) {
      new RunningRole(NAME, List.of(), shared).close();
      throw e;
    }
  }
}
