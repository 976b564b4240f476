package io.fractalrmo.runtime.settings;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** Parsed, validated settings (see {@link SettingsDef#parse}); immutable. */
public final class Settings {

  private final SettingsDef def;
  private final Map<String, Object> values;
  private final Map<String, String> passthrough;

  Settings(SettingsDef def, Map<String, Object> values, Map<String, String> passthrough) {
    this.def = def;
    this.values = Map.copyOf(values);
    this.passthrough = Map.copyOf(passthrough);
  }

  /** No settings given: every default. */
  public static Settings defaults(SettingsDef def) {
    return def.parse(Map.of());
  }

  public boolean isSet(String name) {
    return values.containsKey(known(name));
  }

  public boolean getBoolean(String name) {
    return (Boolean) require(name);
  }

  public int getInt(String name) {
    return (Integer) require(name);
  }

  public long getLong(String name) {
    return (Long) require(name);
  }

  public Duration getDuration(String name) {
    return (Duration) require(name);
  }

  public String getString(String name) {
    return (String) require(name);
  }

  /** A value without a default, present only when given. */
  public <T> Optional<T> get(String name, Class<T> type) {
    return Optional.ofNullable(values.get(known(name))).map(type::cast);
  }

  /** The given keys under a declared prefix, as strings (e.g. registry client properties). */
  public Map<String, String> passthrough() {
    return passthrough;
  }

  private Object require(String name) {
    Object v = values.get(known(name));
    if (v == null) {
      throw new IllegalStateException("setting " + name + " has no value and no default");
    }
    return v;
  }

  private String known(String name) {
    Objects.requireNonNull(name, "name");
    if (def.definitions().stream().noneMatch(d -> d.name().equals(name))) {
      throw new IllegalArgumentException("setting " + name + " is not defined for " + def.owner());
    }
    return name;
  }

  @Override
  public String toString() {
    return values.toString();
  }
}
