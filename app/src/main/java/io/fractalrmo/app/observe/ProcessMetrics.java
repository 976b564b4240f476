package io.fractalrmo.app.observe;

import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** A Prometheus registry with the JVM's own meters (memory, threads, CPU, uptime). */
public final class ProcessMetrics {

  private static final java.util.List<String> STREAMS_DETAIL = java.util.List.of(
      "kafka.stream.processor.node.", "kafka.stream.state.", "kafka.stream.record.cache.",
      "kafka.stream.topic.");

  private ProcessMetrics() {
  }

  public static PrometheusMeterRegistry registry() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // Kafka Streams reports per processor node, state store, record cache and topic: thousands of
    // series (a 1.2 MB scrape for our one topology). Client, thread and task level stay.
    registry.config().meterFilter(MeterFilter.deny(id -> STREAMS_DETAIL.stream()
        .anyMatch(prefix -> id.getName().startsWith(prefix))));
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    return registry;
  }
}
