package io.fractalrmo.runtime.settings;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The settings a role understands, declared once (Kafka Connect's
 * {@code ConfigDef.define(name, type, default, validator, doc)}): parsing checks every given key
 * against them, so {@code sandbox.bubblewrap=flase}, an unknown key or an out-of-range limit is an
 * error that names the setting (and suggests the closest known name), never a silent default.
 * The same declarations print the help. Immutable once built; {@link #parse} is thread-safe.
 */
public final class SettingsDef {

  /** The type a value is parsed into. */
  public enum Type { BOOLEAN, INT, LONG, DURATION, STRING, URL }

  /** Checks a parsed value; throws {@link SettingException} (use {@link #fail}) when invalid. */
  @FunctionalInterface
  public interface Validator {
    void ensureValid(String name, Object value);
  }

  /** One declared setting. */
  public record Definition(String name, Type type, Object defaultValue, Validator validator,
      String doc) {
    /** The default as shown in help ("" when none). */
    public String defaultText() {
      if (defaultValue == null) {
        return "";
      }
      return defaultValue instanceof Duration d ? Durations.format(d) : defaultValue.toString();
    }
  }

  private final String owner;
  private final Map<String, Definition> definitions = new LinkedHashMap<>();
  private final Map<String, String> prefixes = new LinkedHashMap<>();

  /** @param owner who the settings are for, used in messages (e.g. "role executor") */
  public SettingsDef(String owner) {
    this.owner = Objects.requireNonNull(owner, "owner");
  }

  public String owner() {
    return owner;
  }

  /**
   * Declares a setting. {@code defaultValue} is of the type's Java class (Boolean, Integer, Long,
   * Duration, String) or null (no default: absent unless given, e.g. when the default is
   * computed).
   */
  public SettingsDef define(String name, Type type, Object defaultValue, Validator validator,
      String doc) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    if (definitions.containsKey(name)) {
      throw new IllegalStateException("setting " + name + " defined twice");
    }
    if (defaultValue != null && validator != null) {
      validator.ensureValid(name, defaultValue);
    }
    definitions.put(name, new Definition(name, type, defaultValue, validator, doc));
    return this;
  }

  /** Declares a family of keys passed through as strings, e.g. {@code schema.registry.}. */
  public SettingsDef definePrefix(String prefix, String doc) {
    prefixes.put(Objects.requireNonNull(prefix, "prefix"), doc);
    return this;
  }

  /** Adds every definition and prefix of {@code other} (e.g. shared worker settings). */
  public SettingsDef include(SettingsDef other) {
    other.definitions.values().forEach(d -> define(d.name(), d.type(), d.defaultValue(),
        d.validator(), d.doc()));
    prefixes.putAll(other.prefixes);
    return this;
  }

  public Collection<Definition> definitions() {
    return List.copyOf(definitions.values());
  }

  public Map<String, String> prefixes() {
    return Map.copyOf(prefixes);
  }

  public boolean knows(String name) {
    return definitions.containsKey(name)
        || prefixes.keySet().stream().anyMatch(name::startsWith);
  }

  /** Parses and validates {@code raw}; throws {@link SettingException} naming the first bad key. */
  public Settings parse(Map<String, String> raw) {
    Map<String, Object> values = new LinkedHashMap<>();
    Map<String, String> passthrough = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : raw.entrySet()) {
      String key = e.getKey() == null ? "" : e.getKey().strip();
      Definition d = definitions.get(key);
      if (d == null) {
        if (prefixes.keySet().stream().anyMatch(key::startsWith)) {
          passthrough.put(key, e.getValue());
          continue;
        }
        throw new SettingException(key, unknown(key));
      }
      Object value = convert(d, e.getValue());
      if (d.validator() != null) {
        d.validator().ensureValid(key, value);
      }
      values.put(key, value);
    }
    for (Definition d : definitions.values()) {
      if (!values.containsKey(d.name()) && d.defaultValue() != null) {
        values.put(d.name(), d.defaultValue());
      }
    }
    return new Settings(this, values, passthrough);
  }

  /** One line per setting for help: {@code name=TYPE  doc (default x)}. */
  public List<String> helpLines() {
    List<String> lines = new ArrayList<>();
    for (Definition d : definitions.values()) {
      String def = d.defaultText();
      lines.add(String.format(Locale.ROOT, "%-28s %s%s", d.name() + "=" + d.type().name(),
          d.doc() == null ? "" : d.doc(), def.isEmpty() ? "" : " (default " + def + ")"));
    }
    prefixes.forEach((p, doc) -> lines.add(String.format(Locale.ROOT, "%-28s %s", p + "*",
        doc == null ? "" : doc)));
    return lines;
  }

  private String unknown(String key) {
    StringBuilder m = new StringBuilder("unknown setting '").append(key).append("' for ")
        .append(owner);
    String near = nearest(key);
    if (near != null) {
      m.append(" (did you mean '").append(near).append("'?)");
    }
    List<String> known = new ArrayList<>(definitions.keySet());
    prefixes.keySet().forEach(p -> known.add(p + "*"));
    m.append("; known: ").append(known.isEmpty() ? "none" : String.join(", ", known));
    return m.toString();
  }

  private String nearest(String key) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String name : definitions.keySet()) {
      int d = distance(key.toLowerCase(Locale.ROOT), name);
      if (d < bestDistance) {
        bestDistance = d;
        best = name;
      }
    }
    return bestDistance <= Math.max(2, key.length() / 4) ? best : null;
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  private Object convert(Definition d, String raw) {
    String v = raw == null ? "" : raw.strip();
    String name = d.name();
    switch (d.type()) {
      case BOOLEAN -> {
        if (v.equalsIgnoreCase("true")) {
          return Boolean.TRUE;
        }
        if (v.equalsIgnoreCase("false")) {
          return Boolean.FALSE;
        }
        throw fail(name, "'" + raw + "' is not a boolean (true or false)");
      }
      case INT -> {
        try {
          return Integer.parseInt(digits(v));
        } catch (NumberFormatException e) {
          throw fail(name, "'" + raw + "' is not a whole number");
        }
      }
      case LONG -> {
        try {
          return Long.parseLong(digits(v));
        } catch (NumberFormatException e) {
          throw fail(name, "'" + raw + "' is not a whole number");
        }
      }
      case DURATION -> {
        try {
          return Durations.parse(v);
        } catch (IllegalArgumentException e) {
          throw fail(name, "'" + raw + "' is not a duration (e.g. 250ms, 2s, 5m, PT1M)");
        }
      }
      case URL -> {
        try {
          URI uri = new URI(v);
          if (uri.getScheme() == null || uri.getHost() == null) {
            throw new URISyntaxException(v, "no scheme or host");
          }
          return uri.toString();
        } catch (URISyntaxException e) {
          throw fail(name, "'" + raw + "' is not a URL (e.g. http://localhost:8080/v1)");
        }
      }
      default -> {
        return raw == null ? "" : raw;
      }
    }
  }

  /** A whole number as operators write it: digit groups may be separated by '_' (60_000). */
  private static String digits(String v) {
    return v.matches("[+-]?\\d+(_\\d+)*") ? v.replace("_", "") : v;
  }

  /** An error naming {@code name}. */
  public static SettingException fail(String name, String why) {
    return new SettingException(name, "setting " + name + ": " + why);
  }

  /** Numbers at least {@code min}. */
  public static Validator atLeast(long min) {
    return (name, value) -> {
      if (((Number) value).longValue() < min) {
        throw fail(name, value + " is out of range: must be at least " + min);
      }
    };
  }

  /** Numbers in {@code [min, max]}. */
  public static Validator between(long min, long max) {
    return (name, value) -> {
      long v = ((Number) value).longValue();
      if (v < min || v > max) {
        throw fail(name, value + " is out of range: must be in [" + min + ", " + max + "]");
      }
    };
  }

  /** Durations in {@code [min, max]}. */
  public static Validator between(Duration min, Duration max) {
    return (name, value) -> {
      Duration v = (Duration) value;
      if (v.compareTo(min) < 0 || v.compareTo(max) > 0) {
        throw fail(name, Durations.format(v) + " is out of range: must be in ["
            + Durations.format(min) + ", " + Durations.format(max) + "]");
      }
    };
  }

  /** Strings that are not blank. */
  public static Validator nonBlank() {
    return (name, value) -> {
      if (value.toString().isBlank()) {
        throw fail(name, "must not be empty");
      }
    };
  }

  /** Strings matching {@code regex} (described by {@code what} in the error). */
  public static Validator matching(String regex, String what) {
    Pattern p = Pattern.compile(regex);
    return (name, value) -> {
      if (!p.matcher(value.toString()).matches()) {
        throw fail(name, "'" + value + "' is not " + what);
      }
    };
  }

  /** Durations as settings write them: {@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}, ISO-8601. */
  public static final class Durations {
    private static final Pattern SIMPLE = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");

    private Durations() {
    }

    /** Parses a duration; a bare number is milliseconds. */
    public static Duration parse(String text) {
      String v = text.strip().toLowerCase(Locale.ROOT);
      Matcher m = SIMPLE.matcher(v);
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "ms" : m.group(2);
        return switch (unit) {
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofMillis(n);
        };
      }
      try {
        return Duration.parse(text.strip().toUpperCase(Locale.ROOT));
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("not a duration: " + text, e);
      }
    }

    public static String format(Duration d) {
      long ms = d.toMillis();
      if (ms % 3_600_000 == 0 && ms > 0) {
        return ms / 3_600_000 + "h";
      }
      if (ms % 60_000 == 0 && ms > 0) {
        return ms / 60_000 + "m";
      }
      if (ms % 1_000 == 0 && ms > 0) {
        return ms / 1_000 + "s";
      }
      return ms + "ms";
    }
  }
}
