package io.fractalrmo.agentworkers.roles;

import io.fractalrmo.agentworkers.bench.ZeroCost;

import static io.fractalrmo.runtime.settings.SettingsDef.Type.BOOLEAN;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.DURATION;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.INT;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.LONG;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.STRING;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.URL;

import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.agentworkers.worker.WorkerSettings;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.runtime.settings.Settings;
import io.fractalrmo.runtime.settings.SettingsDef;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
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
  public static final String BUBBLEWRAP_PATH = "sandbox.bubblewrap-path";
  public static final String WORK_ROOT = "sandbox.work-root";
  public static final String UNSAFE_ALLOW_UNCONFINED = PythonSandbox.UNSAFE_SETTING;
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
            "confine code with bwrap when it works here (the launcher's own layers apply either way)")
        .define(BUBBLEWRAP_PATH, STRING, null, SettingsDef.nonBlank(),
            "the bwrap binary to use (default: PATH, then /usr/bin)")
        .define(WORK_ROOT, STRING, null, SettingsDef.nonBlank(),
            "where run work dirs are made without bubblewrap (default: java.io.tmpdir); a size-bounded file system bounds all runs")
        .define(UNSAFE_ALLOW_UNCONFINED, BOOLEAN, Boolean.FALSE, null,
            "UNSAFE: run untrusted code even when no layer blocks the network and host files (logged, named in every result)");
  }

  /**
   * The operator's maxima on what a task may ask for ({@link InputLimits#SETTINGS}: each key with
   * its default and range), declared as typed settings so that a misspelt {@code limits.*} key or
   * an out-of-range value is refused naming it.
   */
  public static SettingsDef limits(SettingsDef def) {
    for (InputLimits.Setting s : InputLimits.SETTINGS) {
      def.define(s.key(), LONG, s.defaultValue(), SettingsDef.between(s.min(), s.max()), s.doc());
    }
    return def;
  }

  /** {@value ZeroCost#SETTING}: the benchmark mode of analyzer, executor and validator. */
  public static SettingsDef zeroCost(SettingsDef def) {
    return def.define(ZeroCost.SETTING, BOOLEAN, Boolean.FALSE, null,
        "benchmark mode: answer each record at once with an output of its real shape, nothing "
            + "analysed, run or judged, never a success");
  }

  public static SettingsDef analyzer() {
    return zeroCost(limits(worker("role analyzer")));
  }

  public static SettingsDef executor() {
    return zeroCost(limits(sandbox(worker("role executor"))))
        .define(MODEL_URL, URL, null, null,
            "OpenAI-compatible chat-completions endpoint for GENERATE_CODE")
        .define(MODEL_NAME, STRING, "gpt-4o-mini", SettingsDef.nonBlank(),
            "model name sent to it (API key only from FRACTAL_MODEL_API_KEY)")
        .define(RULES_CATCH_UP, DURATION, Duration.ofSeconds(60),
            SettingsDef.between(Duration.ofSeconds(1), Duration.ofMinutes(10)),
            "at start, how long to wait for the rule cache to read every rule before the role fails");
  }

  public static SettingsDef validator() {
    return zeroCost(limits(sandbox(worker("role validator"))));
  }

  /** The worker loop settings of {@code s} applied to an instance's defaults. */
  static UnaryOperator<WorkerSettings> tuning(Settings s) {
    return w -> w.withConcurrency(s.getInt(CONCURRENCY))
        .withPartitionWindow(s.getInt(PARTITION_WINDOW))
        .withCommitInterval(s.getDuration(COMMIT_INTERVAL))
        .withStopGrace(s.getDuration(STOP_GRACE))
        .withRetry(w.retry().withTimeout(s.getDuration(RETRY_TIMEOUT)));
  }

  /** The input limits of a role whose settings include {@link #limits}. */
  public static InputLimits inputLimits(Settings s) {
    Map<String, String> values = new LinkedHashMap<>();
    for (InputLimits.Setting l : InputLimits.SETTINGS) {
      values.put(l.key(), Long.toString(s.getLong(l.key())));
    }
    return InputLimits.fromSettings(values);
  }

  /** The sandbox options of a role whose settings include {@link #sandbox}. */
  static PythonSandbox.Options sandboxOptions(Settings s, int defaultWarmPool) {
    return new PythonSandbox.Options(
        s.get(WARM_POOL, Integer.class).orElse(defaultWarmPool),
        s.getBoolean(BUBBLEWRAP),
        s.get(BUBBLEWRAP_PATH, String.class).map(p -> Path.of(p.strip())).orElse(null),
        s.getBoolean(UNSAFE_ALLOW_UNCONFINED),
        s.get(WORK_ROOT, String.class).map(p -> Path.of(p.strip())).orElse(null));
  }

  static Optional<String> instanceId(Settings s) {
    return s.get(INSTANCE_ID, String.class);
  }
}
