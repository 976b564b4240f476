package io.fractalrmo.app.observe;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumer lag of the pipeline's groups (those whose id starts with {@code groupPrefix}), read
 * with the admin client every {@code every}: per group and topic, the committed offsets' distance
 * to the last stable offset (read_committed). Published as {@code fractal.consumer.lag}.
 */
public final class ConsumerLag implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ConsumerLag.class);

  private final AdminClient admin;
  private final KafkaClientMetrics adminMetrics;
  private final String groupPrefix;
  private final MultiGauge gauge;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Map<List<String>, Long> last = Map.of();

  public ConsumerLag(String bootstrapServers, String groupPrefix, Duration every,
      MeterRegistry registry) {
    Map<String, Object> p = new HashMap<>();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, groupPrefix + "lag-reader");
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
    this.admin = AdminClient.create(p);
    this.adminMetrics = new KafkaClientMetrics(admin, Tags.of("client", "lag-reader"));
    adminMetrics.bindTo(registry);
    this.groupPrefix = groupPrefix;
    this.gauge = MultiGauge.builder("fractal.consumer.lag")
        .description("Records not yet consumed and committed by the group (to the last stable offset)")
        .baseUnit("records").register(registry);
    this.thread = new Thread(() -> loop(every), "fractal-consumer-lag");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /** The last reading: (group, topic) to lag. */
  public Map<List<String>, Long> last() {
    return last;
  }

  private void loop(Duration every) {
    while (running) {
      try {
        Map<List<String>, Long> lag = read();
        last = lag;
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        lag.forEach((k, v) -> rows.add(MultiGauge.Row.of(Tags.of("group", k.get(0), "topic", k.get(1)), v)));
        gauge.register(rows, true);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        if (running) {
          LOG.debug("consumer lag not read: {}", e.toString());
        }
      }
      synchronized (this) {
        try {
          if (running) {
            TimeUnit.MILLISECONDS.timedWait(this, every.toMillis());
          }
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  private Map<List<String>, Long> read() throws Exception {
    List<String> groups = new ArrayList<>();
    for (GroupListing g : admin.listGroups().all().get(15, TimeUnit.SECONDS)) {
      if (g.groupId().startsWith(groupPrefix)) {
        groups.add(g.groupId());
      }
    }
    Map<List<String>, Long> lag = new HashMap<>();
    for (String group : groups) {
      Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata().get(15, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      committed.forEach((tp, o) -> {
        if (o != null) {
          latest.put(tp, OffsetSpec.latest());
        }
      });
      if (latest.isEmpty()) {
        continue;
      }
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = admin.listOffsets(latest,
          new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get(15, TimeUnit.SECONDS);
      ends.forEach((tp, end) -> lag.merge(List.of(group, tp.topic()),
          Math.max(0, end.offset() - committed.get(tp).offset()), Long::sum));
    }
    return lag;
  }

  @Override
  public void close() {
    running = false;
    synchronized (this) {
      notifyAll();
    }
    try {
      thread.join(20_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    adminMetrics.close();
    admin.close(Duration.ofSeconds(5));
  }
}
