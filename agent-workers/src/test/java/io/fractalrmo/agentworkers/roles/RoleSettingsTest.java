package io.fractalrmo.agentworkers.roles;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.runtime.settings.SettingException;
import io.fractalrmo.runtime.settings.Settings;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A worker role checks its settings before it connects to anything: a mistyped value, an unknown
 * key or an out-of-range limit stops it with an error that names the setting.
 */
class RoleSettingsTest {

  // nothing listens here: the settings are refused before any connection is tried
  private static final Endpoints NOWHERE = new Endpoints("127.0.0.1:1", "http://127.0.0.1:1",
      Optional.empty(), TopicCatalog.withPrefix("t-settings."));

  private static RoleOptions with(String key, String value) {
    return RoleOptions.defaults().withSettings(Map.of(key, value));
  }

  @Test
  void shouldRefuseABooleanThatIsNeitherTrueNorFalse() {
    assertThatThrownBy(() -> RoleCatalog.start("executor", NOWHERE,
        with("sandbox.bubblewrap", "flase")))
        .isInstanceOf(SettingException.class)
        .hasMessage("setting sandbox.bubblewrap: 'flase' is not a boolean (true or false)");
  }

  @Test
  void shouldRefuseAnUnknownKeyNamingIt() {
    assertThatThrownBy(() -> RoleCatalog.start("validator", NOWHERE,
        with("sandbox.bubblewarp", "true")))
        .isInstanceOf(SettingException.class)
        .hasMessageContaining("unknown setting 'sandbox.bubblewarp' for role validator")
        .hasMessageContaining("did you mean 'sandbox.bubblewrap'?");
    assertThatThrownBy(() -> RoleCatalog.start("validator", NOWHERE,
        with("model.url", "http://localhost:8080/v1")))
        .as("a setting of another role").isInstanceOf(SettingException.class)
        .hasMessageContaining("unknown setting 'model.url' for role validator");
  }

  @Test
  void shouldRefuseOutOfRangeLimitsInsteadOfClampingThem() {
    assertThatThrownBy(() -> RoleCatalog.start("analyzer", NOWHERE,
        with("worker.concurrency", "0")))
        .hasMessage("setting worker.concurrency: 0 is out of range: must be in [1, 64]");
    assertThatThrownBy(() -> RoleCatalog.start("executor", NOWHERE,
        with("sandbox.warm-pool", "-1")))
        .hasMessage("setting sandbox.warm-pool: -1 is out of range: must be in [0, 64]");
    assertThatThrownBy(() -> RoleCatalog.start("executor", NOWHERE,
        with("worker.stop-grace", "1m")))
        .hasMessageContaining("setting worker.stop-grace: 1m is out of range");
  }

  @Test
  void shouldKeepTheExistingSettingNamesAndTheirDefaults() {
    Settings executor = RoleSettings.executor().parse(Map.of("sandbox.warm-pool", "3",
        "sandbox.bubblewrap", "false", "model.url", "http://127.0.0.1:9/v1",
        "model.name", "m", "schema.registry.basic.auth.user.info", "u:p"));
    assertThat(executor.getInt("sandbox.warm-pool")).isEqualTo(3);
    assertThat(executor.getBoolean("sandbox.bubblewrap")).isFalse();
    assertThat(executor.getString("model.name")).isEqualTo("m");
    assertThat(executor.passthrough()).containsKey("schema.registry.basic.auth.user.info");
    Settings defaults = RoleSettings.validator().parse(Map.of());
    assertThat(defaults.getBoolean("sandbox.bubblewrap")).isTrue();
    assertThat(defaults.getDuration("worker.stop-grace")).isEqualTo(Duration.ofSeconds(1));
    assertThat(defaults.getInt("worker.concurrency")).isGreaterThanOrEqualTo(2);
  }

  @Test
  void shouldDeclareTheSandboxSettingsWithTheUnsafeOptInOffByDefault() {
    Settings defaults = RoleSettings.executor().parse(Map.of());
    assertThat(defaults.getBoolean("sandbox.unsafe-allow-unconfined")).isFalse();
    assertThat(RoleSettings.sandboxOptions(defaults, 3).unsafeAllowUnconfined()).isFalse();
    assertThat(RoleSettings.sandboxOptions(defaults, 3).warmPoolSize()).isEqualTo(3);
    Settings given = RoleSettings.validator().parse(Map.of("sandbox.work-root", "/tmp/runs",
        "sandbox.bubblewrap-path", "/opt/bwrap", "sandbox.unsafe-allow-unconfined", "true"));
    var options = RoleSettings.sandboxOptions(given, 3);
    assertThat(options.workRoot()).hasToString("/tmp/runs");
    assertThat(options.bubblewrap()).hasToString("/opt/bwrap");
    assertThat(options.unsafeAllowUnconfined()).isTrue();
    // the opt-in is never taken from a value that only looks like yes
    assertThatThrownBy(() -> RoleCatalog.start("executor", NOWHERE,
        with("sandbox.unsafe-allow-unconfined", "yes")))
        .isInstanceOf(SettingException.class)
        .hasMessage("setting sandbox.unsafe-allow-unconfined: 'yes' is not a boolean (true or false)");
  }

  @Test
  void shouldCheckTheLimitsOfEveryRoleThatReadsThem() {
    Settings analyzer = RoleSettings.analyzer().parse(Map.of("limits.max-code-bytes", "10_000"));
    assertThat(RoleSettings.inputLimits(analyzer).maxCodeBytes()).isEqualTo(10_000);
    assertThat(RoleSettings.inputLimits(RoleSettings.validator().parse(Map.of())))
        .isEqualTo(io.fractalrmo.contracts.InputLimits.defaults());
    assertThatThrownBy(() -> RoleCatalog.start("executor", NOWHERE,
        with("limits.max-code-byte", "10")))
        .isInstanceOf(SettingException.class)
        .hasMessageContaining("unknown setting 'limits.max-code-byte' for role executor")
        .hasMessageContaining("did you mean 'limits.max-code-bytes'?");
    assertThatThrownBy(() -> RoleCatalog.start("validator", NOWHERE,
        with("limits.max-time-limit-ms", "99")))
        .hasMessage("setting limits.max-time-limit-ms: 99 is out of range: must be in [100, 3600000]");
    assertThatThrownBy(() -> RoleCatalog.start("analyzer", NOWHERE,
        with("limits.max-memory-mb", "lots")))
        .hasMessage("setting limits.max-memory-mb: 'lots' is not a whole number");
  }
}
