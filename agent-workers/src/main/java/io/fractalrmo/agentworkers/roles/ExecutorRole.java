package io.fractalrmo.agentworkers.roles;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.bench.ZeroCost;
import io.fractalrmo.agentworkers.executor.CodeGenerator;
import io.fractalrmo.agentworkers.executor.ExecutorHandler;
import io.fractalrmo.agentworkers.executor.OpenAiCodeGenerator;
import io.fractalrmo.agentworkers.rules.KafkaRuleBook;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.worker.WorkerGroup;
import io.fractalrmo.agentworkers.worker.WorkerSpec;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.runtime.settings.Settings;
import io.fractalrmo.contracts.InputLimits;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executors: {@code instances} workers in group {@code fractal-executor} on
 * {@code fractal.action-items}, sharing one Python sandbox (warm pool) and one rule cache that
 * follows {@code fractal.protocol-rules}; each handler slot has its own analysis helper process.
 * The workers start once the rule cache has read every rule (bounded wait, then the role fails)
 * and fail with it should its follower fail. Settings: {@link RoleSettings#executor()} (the
 * worker loop, {@code sandbox.*} with the unsafe opt-in, {@code model.*}, the operator's maxima
 * {@code limits.*}, {@value ZeroCost#SETTING}: benchmark mode, every action answered at
 * once with a failed result, nothing run).
 */
public final class ExecutorRole {

  public static final String NAME = "executor";
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorRole.class);

  private ExecutorRole() {
  }

  /** Starts the executors and returns once the rule book caught up and every worker joined. */
  public static RunningRole start(Endpoints endpoints, RoleOptions options) {
    Settings settings = RoleSettings.executor().parse(options.settings());
    Map<String, Object> serdes = RoleSupport.serdeConfig(endpoints, settings);
    List<AutoCloseable> shared = new ArrayList<>();
    RoleSupport.InstanceResources helpers = new RoleSupport.InstanceResources();
    shared.add(helpers);
    try {
      KafkaRuleBook rules = KafkaRuleBook.start(endpoints, serdes);
      shared.add(rules);
      awaitRules(rules, settings.getDuration(RoleSettings.RULES_CATCH_UP));
      if (settings.getBoolean(ZeroCost.SETTING)) {
        // benchmark mode: the same workers and group, no sandbox (nothing runs)
        WorkerSpec<ActionItem> spec = options.applyTo(WorkerSpec.of(NAME, NAME,
            RoleSupport.groupId(endpoints.topics(), NAME), endpoints.topics().actionItems().name(),
            ActionItem.class,
            agentId -> ZeroCost.executor(agentId, endpoints.topics(), Clock.systemUTC())), settings);
        return RunningRole.startAll(NAME,
            List.of(() -> WorkerGroup.start(endpoints, spec, options.instances(), serdes)), shared);
      }
      PythonSandbox sandbox = PythonSandbox.create(RoleSettings.sandboxOptions(settings,
          RoleSupport.warmPool(settings, options)));
      shared.add(0, sandbox);
      CodeGenerator generator = modelBackend(settings);
      InputLimits limits = RoleSettings.inputLimits(settings);
      WorkerSpec<ActionItem> spec = options.applyTo(WorkerSpec.of(NAME, NAME,
          RoleSupport.groupId(endpoints.topics(), NAME), endpoints.topics().actionItems().name(),
          ActionItem.class,
          agentId -> new ExecutorHandler(agentId, endpoints.topics(), sandbox,
              helpers.add(new PythonAnalysisHelper()), rules, generator, Clock.systemUTC(),
              limits)),
          settings).withSupervised(List.of(rules));
      return RunningRole.startAll(NAME,
          List.of(() -> WorkerGroup.start(endpoints, spec, options.instances(), serdes)), shared);
    } catch (RuntimeException e) {
      new RunningRole(NAME, List.of(), shared).close();
      throw e;
    }
  }

  /**
   * The model backend for actions without code: setting {@code model.url} (and optionally
   * {@code model.name}), else the environment ({@code FRACTAL_MODEL_URL}, ...); the API key only
   * ever comes from {@code FRACTAL_MODEL_API_KEY}. Null when none is configured: such actions
   * then fail with a clear DEPENDENCY error.
   */
  static CodeGenerator modelBackend(Settings settings) {
    String url = settings.get(RoleSettings.MODEL_URL, String.class).orElse(null);
    CodeGenerator generator;
    if (url != null) {
      generator = new OpenAiCodeGenerator(URI.create(url.strip()),
          settings.getString(RoleSettings.MODEL_NAME),
          System.getenv(OpenAiCodeGenerator.KEY_ENV), Duration.ofSeconds(120));
    } else {
      generator = OpenAiCodeGenerator.fromEnvironment().orElse(null);
    }
    LOG.info("executor model backend: {}", generator == null
        ? "none (actions without code fail with a DEPENDENCY error)" : url != null ? url
        : System.getenv(OpenAiCodeGenerator.URL_ENV));
    return generator;
  }

  /**
   * The executor does not take work while its rule cache has not read every rule that was on the
   * topic at start: it waits up to {@code timeout}, then fails saying how far behind the cache is
   * and why (e.g. the registry cannot be reached) — never runs without rules it should have.
   */
  private static void awaitRules(KafkaRuleBook rules, Duration timeout) {
    try {
      if (!rules.awaitCaughtUp(timeout)) {
        throw new IllegalStateException("the executor's rule cache did not read every protocol"
            + " rule within " + timeout.toSeconds() + " s (" + rules.describe() + "); the"
            + " executor does not take work without them" + (rules.failure() == null ? ""
                : ": " + rules.failure()), rules.failure());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading the protocol rules", e);
    }
  }
}
