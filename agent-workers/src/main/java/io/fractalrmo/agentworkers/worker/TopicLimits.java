package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.runtime.RecordSizes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The largest record a worker may write to a topic: the smaller of its producer's
 * {@code max.request.size} and the topic's {@code max.message.bytes}. Checked before a record is
 * sent, so that an oversized output sends its input to the DLQ instead of failing (and wedging)
 * the transaction. Thread-safe.
 */
@FunctionalInterface
public interface TopicLimits {

  int maxRecordBytes(String topic);

  /** The same limit for every topic. */
  static TopicLimits fixed(int bytes) {
    return topic -> bytes;
  }

  /**
   * Limits read from the brokers (each topic's {@code max.message.bytes}, looked up once and
   * cached), capped by {@code maxRequestSize}. A topic whose configuration cannot be read gets
   * {@code maxRequestSize} for a minute, then is looked up again; the send's own future still
   * catches a topic limit that is lower.
   */
  static TopicLimits fromBrokers(Admin admin, int maxRequestSize) {
    return new BrokerLimits(admin, maxRequestSize);
  }

  /** Reads topic configurations through an Admin client. */
  final class BrokerLimits implements TopicLimits {
    private static final Logger LOG = LoggerFactory.getLogger(BrokerLimits.class);
    private static final long RETRY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final Admin admin;
    private final int maxRequestSize;
    private final Map<String, Integer> known = new ConcurrentHashMap<>();
    private final Map<String, Long> unknownSince = new ConcurrentHashMap<>();

    BrokerLimits(Admin admin, int maxRequestSize) {
      this.admin = admin;
      this.maxRequestSize = maxRequestSize;
    }

    @Override
    public int maxRecordBytes(String topic) {
      Integer limit = known.get(topic);
      if (limit != null) {
        return limit;
      }
      Long since = unknownSince.get(topic);
      if (since != null && System.nanoTime() - since < RETRY_NANOS) {
        return maxRequestSize;
      }
      try {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config config = admin.describeConfigs(List.of(resource)).all()
            .get(Duration.ofSeconds(5).toMillis(), TimeUnit.MILLISECONDS).get(resource);
        ConfigEntry entry = config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
        int topicMax = entry == null || entry.value() == null ? Integer.MAX_VALUE
            : Integer.parseInt(entry.value());
        int effective = Math.min(maxRequestSize, topicMax);
        known.put(topic, effective);
        unknownSince.remove(topic);
        return effective;
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        LOG.debug("cannot read max.message.bytes of {}: {}", topic, e.toString());
        unknownSince.put(topic, System.nanoTime());
        return maxRequestSize;
      }
    }
  }

  /** The producer default, for tests and as a fallback. */
  TopicLimits DEFAULT = fixed(RecordSizes.DEFAULT_MAX_REQUEST_SIZE);
}
