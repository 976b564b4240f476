package io.fractalrmo.agentworkers.roles;

import static io.fractalrmo.runtime.settings.SettingsDef.Type.BOOLEAN;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.DURATION;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.INT;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.STRING;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.URL;

import io.fractalrmo.agentworkers.worker.WorkerSettings;
import io.fractalrmo.runtime.settings.Settings;
import io.fractalrmo.runtime.settings.SettingsDef;
import java.time.Duration;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The {@code --set key=value} settings of the worker roles, declared once with their type,
 * default, range and doc (Kafka Connect's {@code ConfigDef}): every key a role is given is checked
 * at start, so a misspelt key, {@code sandbox.bubblewrap=flase} or an out-of-range limit stops the
 * role with an error that names the setting. {@code fractal run --help} prints these lines.
 */
public final class RoleSettings {

  public static final String CONCURRENCY = "worker.concurrency";
  public static final String PARTITION_WINDOW = "worker.partition-window";
  public static final String COMMIT_INTERVAL = "worker.commit-interval";
  public static final String STOP_GRACE = "worker.stop-grace";
  public static final String RETRY_TIMEOUT = "worker.retry-timeout";
  public static final String INSTANCE_ID = "worker.instance-id";
  public static final String WARM_POOL = "sandbox.warm-pool";
  public static final String BUBBLEWRAP = "sandbox.bubblewrap";
  public static final String MODEL_URL = "model.url";
  public static final String MODEL_NAME = "model.name";
  public static final String RULES_CATCH_UP = "rules.catch-up-timeout";

  private RoleSettings() {
  }

  /** What every worker role understands: its loop and its registry client. */
  public static SettingsDef worker(String owner) {
    return new SettingsDef(owner)
        .define(CONCURRENCY, INT, WorkerSettings.DEFAULT_CONCURRENCY,
            SettingsDef.between(1, 64),
            "records each instance handles at once (one handler per slot); default: the cores, at least 2")
        .define(PARTITION_WINDOW, INT, 1_000, SettingsDef.between(1, 10_000),
            "records of one partition done ahead of its slowest unfinished one")
        .define(COMMIT_INTERVAL, DURATION, Duration.ofMillis(100),
            SettingsDef.between(Duration.ZERO, Duration.ofSeconds(30)),
            "longest a finished record waits for its transaction while others are in flight")
        .define(STOP_GRACE, DURATION, Duration.ofSeconds(1),
            SettingsDef.between(Duration.ZERO, Duration.ofSeconds(5)),
            "on stop, how long records in flight may finish before they are cut off (redone by the next owner)")
        .define(RETRY_TIMEOUT, DURATION, Duration.ofMinutes(2),
            SettingsDef.between(Duration.ofSeconds(1), Duration.ofHours(1)),
            "how long a transient failure (broker, registry) is retried before the role fails")
        .define(INSTANCE_ID, STRING, null,
            SettingsDef.matching("[A-Za-z0-9._-]{1,100}", "an id of letters, digits, '.', '_', '-'"),
            "fixed instance id (e.g. the pod name) instead of a slot of this host")
        .definePrefix("schema.registry.", "schema registry client property, passed through")
        .definePrefix("basic.auth.", "schema registry credentials, passed through");
  }

  /** The sandbox settings of the roles that run code (executor, validator). */
  public static SettingsDef sandbox(SettingsDef def) {
    return def
        .define(WARM_POOL, INT, null, SettingsDef.between(0, 64),
            "pre-started sandboxed interpreters (default: instances x concurrency + 1)")
        .define(BUBBLEWRAP, BOOLEAN, Boolean.TRUE, null,
            "confine code with bwrap when installed");
  }

  public static SettingsDef analyzer() {
    return worker("role analyzer");
  }

  public static SettingsDef executor() {
    return sandbox(worker("role executor"))
        .define(MODEL_URL, URL, null, null,
            "OpenAI-compatible chat-completions endpoint for GENERATE_CODE")
        .define(MODEL_NAME, STRING, "gpt-4o-mini", SettingsDef.nonBlank(),
            "model name sent to it (API key only from FRACTAL_MODEL_API_KEY)")
        .define(RULES_CATCH_UP, DURATION, Duration.ofSeconds(60),
            SettingsDef.between(Duration.ofSeconds(1), Duration.ofMinutes(10)),
            "at start, how long to wait for the rule cache to read every rule before the role fails");
  }

  public static SettingsDef validator() {
    return sandbox(worker("role validator"));
  }

  /** The worker loop settings of {@code s} applied to an instance's defaults. */
  static UnaryOperator<WorkerSettings> tuning(Settings s) {
    return w -> w.withConcurrency(s.getInt(CONCURRENCY))
        .withPartitionWindow(s.getInt(PARTITION_WINDOW))
        .withCommitInterval(s.getDuration(COMMIT_INTERVAL))
        .withStopGrace(s.getDuration(STOP_GRACE))
        .withRetry(w.retry().withTimeout(s.getDuration(RETRY_TIMEOUT)));
  }

  static Optional<String> instanceId(Settings s) {
    return s.get(INSTANCE_ID, String.class);
  }
}
