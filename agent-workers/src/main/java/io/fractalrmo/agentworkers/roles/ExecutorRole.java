package io.fractalrmo.agentworkers.roles;

import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.executor.CodeGenerator;
import io.fractalrmo.agentworkers.executor.ExecutorHandler;
import io.fractalrmo.agentworkers.executor.OpenAiCodeGenerator;
import io.fractalrmo.agentworkers.rules.KafkaRuleBook;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.worker.WorkerGroup;
import io.fractalrmo.agentworkers.worker.WorkerSpec;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Endpoints;
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
 * {@code fractal.action-items}, sharing one Python sandbox (warm pool) and one rule book that
 * follows {@code fractal.protocol-rules}; each instance has its own analysis helper process.
 *
 * <p>Settings: {@code sandbox.*} ({@link PythonSandbox.Options#fromSettings}: warm pool, default
 * instances + 1; bubblewrap; work root; the unsafe opt-in), {@code model.url} and
 * {@code model.name} (OpenAI-compatible backend for actions without code), the operator's maxima
 * {@code limits.*} ({@link InputLimits#SETTINGS}).
 */
public final class ExecutorRole {

  public static final String NAME = "executor";
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorRole.class);
  private static final Duration RULES_CATCH_UP = Duration.ofSeconds(30);

  private ExecutorRole() {
  }

  /** Starts the executors and returns once the rule book caught up and every worker joined. */
  public static RunningRole start(Endpoints endpoints, RoleOptions options) {
    Map<String, Object> serdes = RoleSupport.serdeConfig(endpoints, options);
    List<AutoCloseable> shared = new ArrayList<>();
    RoleSupport.InstanceResources helpers = new RoleSupport.InstanceResources();
    shared.add(helpers);
    try {
      KafkaRuleBook rules = KafkaRuleBook.start(endpoints, serdes);
      shared.add(rules);
      awaitRules(rules);
      PythonSandbox sandbox = PythonSandbox.create(
          PythonSandbox.Options.fromSettings(options.settings(), options.instances() + 1));
      shared.add(0, sandbox);
      CodeGenerator generator = modelBackend(options);
      InputLimits limits = InputLimits.fromSettings(options.settings());
      WorkerSpec<ActionItem> spec = options.applyTo(WorkerSpec.of(NAME, NAME,
          RoleSupport.groupId(endpoints.topics(), NAME), endpoints.topics().actionItems().name(),
          ActionItem.class,
          agentId -> new ExecutorHandler(agentId, endpoints.topics(), sandbox,
              helpers.add(new PythonAnalysisHelper()), rules, generator, Clock.systemUTC(), limits)));
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
  static CodeGenerator modelBackend(RoleOptions options) {
    String url = options.settings().get("model.url");
    CodeGenerator generator;
    if (url != null && !url.isBlank()) {
      generator = new OpenAiCodeGenerator(URI.create(url.strip()),
          options.settings().getOrDefault("model.name", "gpt-4o-mini"),
          System.getenv(OpenAiCodeGenerator.KEY_ENV), Duration.ofSeconds(120));
    } else {
      generator = OpenAiCodeGenerator.fromEnvironment().orElse(null);
    }
    LOG.info("executor model backend: {}", generator == null
        ? "none (actions without code fail with a DEPENDENCY error)" : url != null ? url
        : System.getenv(OpenAiCodeGenerator.URL_ENV));
    return generator;
  }

  private static void awaitRules(KafkaRuleBook rules) {
    try {
      if (!rules.awaitCaughtUp(RULES_CATCH_UP)) {
        LOG.warn("rule book not caught up within {}; starting with the rules read so far",
            RULES_CATCH_UP);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading the protocol rules", e);
    }
  }
}
