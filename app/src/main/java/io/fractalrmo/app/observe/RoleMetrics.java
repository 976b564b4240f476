package io.fractalrmo.app.observe;

import io.fractalrmo.agentworkers.roles.RunningRole;
import io.fractalrmo.agentworkers.worker.TransactionalWorker;
import io.fractalrmo.app.dashboard.LiveView;
import io.fractalrmo.connectors.outbox.OutboxIngest;
import io.fractalrmo.connectors.sink.SinkRole;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.Isolation;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.streams.StreamsRole;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The meters of running roles and of the pipeline's topics, bound to one registry. Counters are
 * read from what the roles already count (TransactionalWorker's committed and DLQ'd records, the
 * sink's rows, the outbox's produced events) and from the live view of the topics (tasks per
 * state, error events per category, sandbox runs per isolation, the DLQ); the handler latency per
 * stage comes from the worker's {@code onHandled} listener and the rule-cache gauges from the
 * role's rule book.
 */
public final class RoleMetrics implements AutoCloseable {

  /** How often Kafka's client metrics are looked up again (a producer replaced, a new partition). */
  static final Duration CLIENT_METRICS_REFRESH = Duration.ofSeconds(10);

  private final MeterRegistry registry;
  private final List<AutoCloseable> binders = new ArrayList<>();
  private java.util.concurrent.ScheduledExecutorService refresher;

  public RoleMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Binds the meters of one started role, tagged {@code role=<name>}. */
  public void bindRole(String role, Object running, RoleProbe probe) {
    Tags tags = Tags.of("role", role);
    Gauge.builder("fractal.role.healthy", probe, p -> p.read().live() && p.read().ready() ? 1 : 0)
        .description("1 while the role is live and ready").tags(tags).register(registry);
    if (running instanceof RunningRole r) {
      for (TransactionalWorker<?> w : r.workers()) {
        Tags wt = tags.and("worker", w.settings().role(), "agent", w.agentId());
        FunctionCounter.builder("fractal.worker.committed", w, TransactionalWorker::committedRecords)
            .description("Input records whose transaction committed (DLQ'd ones included)")
            .baseUnit("records").tags(wt).register(registry);
        FunctionCounter.builder("fractal.worker.dead.lettered", w, TransactionalWorker::dlqRecords)
            .description("Input records the worker sent to the DLQ").baseUnit("records").tags(wt)
            .register(registry);
        Timer handler = Timer.builder("fractal.worker.handler")
            .description("How long the handler of this stage took per record (analysis, "
                + "execution, validation ...), from its call to its outputs")
            .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofMinutes(2)).tags(wt).register(registry);
        w.onHandled(nanos -> handler.record(nanos, TimeUnit.NANOSECONDS));
        // Kafka's own metrics of the worker's consumer (records-lag-max, fetch rates ...) and of
        // its transactional producer (request rate, batch sizes ...), whichever producer is current
        bindClient(w::clientMetrics, tags);
      }
      r.ruleBook().ifPresent(book -> {
        Gauge.builder("fractal.rules.cache.lag", book, b -> b.lag())
            .description("Rule records this role's rule cache has not read yet")
            .baseUnit("records").tags(tags).register(registry);
        Gauge.builder("fractal.rules.cache.active", book, b -> b.activeRules().size())
            .description("ACTIVE rules this role's rule cache holds").baseUnit("rules").tags(tags)
            .register(registry);
      });
    } else if (running instanceof StreamsRole s) {
      KafkaStreamsMetrics metrics = new KafkaStreamsMetrics(s.kafkaStreams(), tags);
      metrics.bindTo(registry);
      binders.add(metrics);
    } else if (running instanceof SinkRole s) {
      bindClient(s::clientMetrics, tags);
      FunctionCounter.builder("fractal.sink.written", s, SinkRole::rowsWritten)
          .description("Rows upserted or tombstoned in PostgreSQL").baseUnit("rows").tags(tags)
          .register(registry);
      FunctionCounter.builder("fractal.sink.dead.lettered", s, SinkRole::deadLettered)
          .baseUnit("records").tags(tags).register(registry);
    } else if (running instanceof OutboxIngest o) {
      bindClient(o::clientMetrics, tags);
      FunctionCounter.builder("fractal.outbox.produced", o, OutboxIngest::produced)
          .baseUnit("records").tags(tags).register(registry);
      FunctionCounter.builder("fractal.outbox.duplicates.skipped", o, OutboxIngest::duplicatesSkipped)
          .baseUnit("records").tags(tags).register(registry);
      FunctionCounter.builder("fractal.outbox.dead.lettered", o, OutboxIngest::deadLettered)
          .baseUnit("records").tags(tags).register(registry);
    }
  }

  /** Binds the pipeline-wide meters read from the topics through {@code view}. */
  public void bindView(LiveView view) {
    // the same tag keys as the roles' client metrics (Prometheus wants one key set per name)
    bindClient(view.consumer()::metrics, Tags.of("role", "live-view"));
    Gauge.builder("fractal.dlq", view, LiveView::dlqTotal)
        .description("Records on the DLQ topic").baseUnit("records").register(registry);
    for (TaskState s : TaskState.values()) {
      if (s != TaskState.UNKNOWN) {
        Gauge.builder("fractal.tasks", view, v -> v.tasksIn(s))
            .description("Tasks whose latest status is this state").tag("state", s.name())
            .register(registry);
      }
    }
    for (ErrorCategory c : ErrorCategory.values()) {
      FunctionCounter.builder("fractal.errors", view, v -> v.errorsOf(c))
          .description("Error events on fractal.errors").tag("category", c.name())
          .register(registry);
    }
    for (Isolation i : Isolation.values()) {
      String[] outcomes = {"all", "failed", "timed_out"};
      for (int k = 0; k < outcomes.length; k++) {
        final int index = k;
        FunctionCounter.builder("fractal.sandbox.runs", view, v -> v.sandboxRuns(i)[index])
            .description("Executions by how the code was confined (from ExecutionResult.isolation)")
            .tags("isolation", i.name(), "outcome", outcomes[k]).register(registry);
      }
    }
  }

  /**
   * Binds Kafka's own metrics of a client (or several, in one map) through a view of the client
   * that only answers {@code metrics()}: Micrometer's {@link KafkaClientMetrics} takes a client,
   * and a worker replaces its producer when it must.
   */
  private void bindClient(
      java.util.function.Supplier<? extends java.util.Map<org.apache.kafka.common.MetricName,
          ? extends org.apache.kafka.common.Metric>> metrics, Tags tags) {
    if (refresher == null) {
      refresher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fractal-kafka-metrics");
        t.setDaemon(true);
        return t;
      });
    }
    KafkaClientMetrics bound = new KafkaClientMetrics(MetricsOnly.consumer(metrics), tags,
        refresher, CLIENT_METRICS_REFRESH);
    bound.bindTo(registry);
    binders.add(bound);
  }

  @Override
  public void close() {
    if (refresher != null) {
      refresher.shutdownNow();
    }
    for (AutoCloseable b : binders) {
      try {
        b.close();
      } catch (Exception e) {
        // metrics only
      }
    }
  }
}
