package io.fractalrmo.app.observe;

import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

/**
 * A Kafka client that only answers {@code metrics()}, from a supplier: what Micrometer's
 * {@code KafkaClientMetrics} reads, for metrics of clients a role may replace (a worker's producer)
 * or of several clients at once. Any other call fails.
 */
final class MetricsOnly {

  private MetricsOnly() {
  }

  static Consumer<?, ?> consumer(
      Supplier<? extends Map<MetricName, ? extends Metric>> metrics) {
    return (Consumer<?, ?>) Proxy.newProxyInstance(MetricsOnly.class.getClassLoader(),
        new Class<?>[] {Consumer.class}, (proxy, method, args) -> switch (method.getName()) {
          case "metrics" -> metrics.get();
          case "toString" -> "metrics of " + metrics;
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          default -> throw new UnsupportedOperationException(method.getName());
        });
  }
}
