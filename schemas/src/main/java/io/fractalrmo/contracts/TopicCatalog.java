package io.fractalrmo.contracts;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.avro.specific.SpecificRecord;

/**
 * The topics of DESIGN §2, declared once. Provisioning, the registry's subjects, docs and the
 * files under {@code infra/} are derived from or checked against this catalogue.
 *
 * <p>A catalogue is immutable. {@link #withPrefix(String)} gives the same topics under a tenant
 * prefix (tests use a unique prefix per test so they never share a topic).
 */
public final class TopicCatalog {

  public static final int DEFAULT_PARTITIONS = 3;
  private static final Duration WEEK = Duration.ofDays(7);
  private static final Duration MONTH = Duration.ofDays(30);

  private static final List<TopicSpec> BASE = List.of(
      spec("fractal.tasks", Task.class, "task id", TopicSpec.DELETE, WEEK,
          "upstream systems, outbox CDC, fractal submit", "analyzers, streams-app"),
      spec("fractal.analyses", AspectAnalysis.class, "task id", TopicSpec.DELETE, WEEK,
          "analyzers", "streams-app"),
      spec("fractal.action-items", ActionItem.class, "task id", TopicSpec.DELETE, WEEK,
          "streams-app", "executors"),
      spec("fractal.execution-results", ExecutionResult.class, "task id", TopicSpec.DELETE, WEEK,
          "executors", "validators, streams-app"),
      spec("fractal.validation-outcomes", ValidationOutcome.class, "task id", TopicSpec.DELETE,
          WEEK, "validators", "streams-app, downstream"),
      spec("fractal.errors", ErrorEvent.class, "task id", TopicSpec.DELETE, MONTH,
          "every agent (error logger)", "streams-app, PostgreSQL sink"),
      spec("fractal.error-patterns", ErrorPattern.class, "pattern key", TopicSpec.DELETE, MONTH,
          "streams-app", "protocol updater, PostgreSQL sink"),
      spec("fractal.protocol-rules", ProtocolRule.class, "rule id", TopicSpec.COMPACT, null,
          "protocol updater", "every agent, downstream"),
      spec("fractal.rule-trials", RuleTrial.class, "trial id", TopicSpec.DELETE, MONTH,
          "protocol updater, executors", "streams-app"),
      spec("fractal.task-status", TaskStatus.class, "task id", TopicSpec.COMPACT, null,
          "streams-app", "operators, fractal status, PostgreSQL sink"),
      spec("fractal.agent-status", AgentStatus.class, "agent id", TopicSpec.COMPACT, null,
          "every agent (heartbeat, state changes)", "operators"),
      spec("fractal.alerts", Alert.class, "task id", TopicSpec.DELETE, MONTH,
          "error logger (SECURITY, RUNTIME)", "operators"),
      new TopicSpec("fractal.dlq", "fractal.dlq", Optional.empty(), Optional.empty(),
          "original key", DEFAULT_PARTITIONS, TopicSpec.DELETE, Optional.of(MONTH),
          "every consumer", "operators"));

  private final String prefix;
  private final Map<String, TopicSpec> byBaseName;

  private TopicCatalog(String prefix) {
    this.prefix = prefix;
    Map<String, TopicSpec> map = new LinkedHashMap<>();
    for (TopicSpec base : BASE) {
      map.put(base.baseName(), base.withPrefix(prefix));
    }
    this.byBaseName = Map.copyOf(map);
  }

  /** The topics under their contract names. */
  public static TopicCatalog defaults() {
    return new TopicCatalog("");
  }

  /** The same topics, each name prefixed, e.g. {@code tenant-a.fractal.tasks}. */
  public static TopicCatalog withPrefix(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    if (!prefix.isEmpty() && !prefix.matches("[A-Za-z0-9._-]+")) {
      throw new IllegalArgumentException(
          "topic prefix may only contain letters, digits, '.', '_' and '-': " + prefix);
    }
    return new TopicCatalog(prefix);
  }

  public String prefix() {
    return prefix;
  }

  /** Every topic, in the order of DESIGN §2. */
  public List<TopicSpec> all() {
    return BASE.stream().map(b -> byBaseName.get(b.baseName())).toList();
  }

  /** A topic by its contract name ({@code fractal.tasks}); throws for a name not in the contract. */
  public TopicSpec byBaseName(String baseName) {
    TopicSpec spec = byBaseName.get(baseName);
    if (spec == null) {
      throw new IllegalArgumentException("no topic " + baseName + " in the catalogue");
    }
    return spec;
  }

  public TopicSpec tasks() { return byBaseName("fractal.tasks"); }
  public TopicSpec analyses() { return byBaseName("fractal.analyses"); }
  public TopicSpec actionItems() { return byBaseName("fractal.action-items"); }
  public TopicSpec executionResults() { return byBaseName("fractal.execution-results"); }
  public TopicSpec validationOutcomes() { return byBaseName("fractal.validation-outcomes"); }
  public TopicSpec errors() { return byBaseName("fractal.errors"); }
  public TopicSpec errorPatterns() { return byBaseName("fractal.error-patterns"); }
  public TopicSpec protocolRules() { return byBaseName("fractal.protocol-rules"); }
  public TopicSpec ruleTrials() { return byBaseName("fractal.rule-trials"); }
  public TopicSpec taskStatus() { return byBaseName("fractal.task-status"); }
  public TopicSpec agentStatus() { return byBaseName("fractal.agent-status"); }
  public TopicSpec alerts() { return byBaseName("fractal.alerts"); }
  public TopicSpec dlq() { return byBaseName("fractal.dlq"); }

  private static TopicSpec spec(String name, Class<? extends SpecificRecord> valueClass,
      String key, String cleanup, Duration retention, String writtenBy, String readBy) {
    return new TopicSpec(name, name, Optional.of(schemaOf(valueClass)), Optional.of(valueClass),
        key, DEFAULT_PARTITIONS, cleanup, Optional.ofNullable(retention), writtenBy, readBy);
  }

  private static org.apache.avro.Schema schemaOf(Class<? extends SpecificRecord> type) {
    try {
      return (org.apache.avro.Schema) type.getField("SCHEMA$").get(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("not a generated Avro class: " + type, e);
    }
  }
}
