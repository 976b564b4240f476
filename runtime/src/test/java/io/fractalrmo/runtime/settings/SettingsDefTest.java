package io.fractalrmo.runtime.settings;

import static io.fractalrmo.runtime.settings.SettingsDef.Type.BOOLEAN;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.DURATION;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.INT;
import static io.fractalrmo.runtime.settings.SettingsDef.Type.URL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Settings are typed and validated at start: a bad value or an unknown key names itself. */
class SettingsDefTest {

  private final SettingsDef def = new SettingsDef("role executor")
      .define("sandbox.bubblewrap", BOOLEAN, true, null, "confine with bwrap")
      .define("worker.concurrency", INT, 2, SettingsDef.between(1, 64), "slots")
      .define("worker.stop-grace", DURATION, Duration.ofSeconds(1),
          SettingsDef.between(Duration.ZERO, Duration.ofSeconds(5)), "grace")
      .define("model.url", URL, null, null, "endpoint")
      .definePrefix("schema.registry.", "registry client");

  @Test
  void shouldRefuseABooleanThatIsNotTrueOrFalse() {
    assertThatThrownBy(() -> def.parse(Map.of("sandbox.bubblewrap", "flase")))
        .isInstanceOf(SettingException.class)
        .hasMessage("setting sandbox.bubblewrap: 'flase' is not a boolean (true or false)");
  }

  @Test
  void shouldRefuseAnUnknownKeyNamingItAndTheClosestKnownOne() {
    assertThatThrownBy(() -> def.parse(Map.of("sandbox.bubblewarp", "true")))
        .isInstanceOf(SettingException.class)
        .hasMessageContaining("unknown setting 'sandbox.bubblewarp' for role executor")
        .hasMessageContaining("did you mean 'sandbox.bubblewrap'?")
        .hasMessageContaining("known: sandbox.bubblewrap, worker.concurrency");
  }

  @Test
  void shouldRefuseOutOfRangeValuesInsteadOfClampingThem() {
    assertThatThrownBy(() -> def.parse(Map.of("worker.concurrency", "0")))
        .hasMessage("setting worker.concurrency: 0 is out of range: must be in [1, 64]");
    assertThatThrownBy(() -> def.parse(Map.of("worker.stop-grace", "30s")))
        .hasMessage("setting worker.stop-grace: 30s is out of range: must be in [0ms, 5s]");
    assertThatThrownBy(() -> def.parse(Map.of("worker.concurrency", "two")))
        .hasMessage("setting worker.concurrency: 'two' is not a whole number");
    assertThatThrownBy(() -> def.parse(Map.of("model.url", "localhost")))
        .hasMessageContaining("setting model.url: 'localhost' is not a URL");
  }

  @Test
  void shouldParseTypedValuesDefaultsAndPassThroughPrefixes() {
    Settings s = def.parse(Map.of("sandbox.bubblewrap", "FALSE", "worker.stop-grace", "250ms",
        "schema.registry.ssl.truststore.location", "/x"));
    assertThat(s.getBoolean("sandbox.bubblewrap")).isFalse();
    assertThat(s.getInt("worker.concurrency")).isEqualTo(2);
    assertThat(s.getDuration("worker.stop-grace")).isEqualTo(Duration.ofMillis(250));
    assertThat(s.get("model.url", String.class)).isEmpty();
    assertThat(s.passthrough()).containsOnlyKeys("schema.registry.ssl.truststore.location");
    assertThat(def.parse(Map.of("worker.stop-grace", "PT2S")).getDuration("worker.stop-grace"))
        .isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void shouldPrintOneHelpLinePerSetting() {
    assertThat(def.helpLines()).hasSize(5)
        .anySatisfy(l -> assertThat(l).startsWith("sandbox.bubblewrap=BOOLEAN")
            .contains("confine with bwrap").endsWith("(default true)"))
        .anySatisfy(l -> assertThat(l).startsWith("schema.registry.*"));
  }
}
