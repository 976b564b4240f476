package io.fractalrmo.platform;

import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.contracts.TopicSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the topics of a catalogue that do not exist yet, with the catalogue's partition count
 * and configs ({@link TopicSpec#configs()}), and waits until every partition has a leader.
 * Idempotent: topics that exist are left as they are (their configs are not changed).
 * A replication factor of -1 leaves it to the cluster's {@code default.replication.factor}.
 */
public final class TopicProvisioner {

  private static final Logger LOG = LoggerFactory.getLogger(TopicProvisioner.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  private TopicProvisioner() {
  }

  public static void provision(String bootstrapServers, TopicCatalog catalog, short replicationFactor) {
    Map<String, Object> config = Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
    try (Admin admin = Admin.create(config)) {
      provision(admin, catalog, replicationFactor);
    }
  }

  /**
   * The same with a caller's admin client.
   *
   * @return the names of the topics that were created (empty when all existed)
   */
  public static List<String> provision(Admin admin, TopicCatalog catalog, short replicationFactor) {
    Instant deadline = Instant.now().plus(TIMEOUT);
    try {
      Set<String> existing = admin.listTopics().names().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (TopicSpec spec : catalog.all()) {
        if (!existing.contains(spec.name())) {
          NewTopic topic = replicationFactor < 0
              ? new NewTopic(spec.name(), java.util.Optional.of(spec.partitions()), java.util.Optional.empty())
              : new NewTopic(spec.name(), spec.partitions(), replicationFactor);
          missing.add(topic.configs(spec.configs()));
        }
      }
      if (missing.isEmpty()) {
        return List.of();
      }
      CreateTopicsResult result = admin.createTopics(missing);
      List<String> created = new ArrayList<>();
      for (Map.Entry<String, KafkaFuture<Void>> entry : result.values().entrySet()) {
        try {
          entry.getValue().get(remaining(deadline), TimeUnit.MILLISECONDS);
          created.add(entry.getKey());
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new PlatformException("cannot create topic " + entry.getKey() + ": " + e.getCause().getMessage(), e.getCause());
          }
        }
      }
      awaitServed(admin, missing.stream().map(NewTopic::name).toList(), deadline);
      LOG.info("Created {} topic(s): {}", created.size(), created);
      return created;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PlatformException("interrupted while creating topics", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new PlatformException("cannot list or create topics on " + admin + ": " + e, e);
    }
  }

  /**
   * Waits until every partition of the topics has a leader that serves requests. The controller
   * names a leader before the broker has taken the partition on; a producer that writes in that
   * gap gets NOT_LEADER and, with several batches in flight, its idempotent retries can loop on
   * OUT_OF_ORDER_SEQUENCE_NUMBER until the delivery timeout drops the records. A successful
   * ListOffsets is answered by the leader itself, so after it producers are safe.
   */
  public static void awaitServed(Admin admin, List<String> topics, Duration timeout) {
    try {
      awaitServed(admin, topics, Instant.now().plus(timeout));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PlatformException("interrupted while waiting for " + topics, e);
    } catch (TimeoutException e) {
      throw new PlatformException(e.getMessage(), e);
    }
  }

  private static void awaitServed(Admin admin, List<String> topics, Instant deadline)
      throws InterruptedException, TimeoutException {
    String lastProblem = "no answer yet";
    while (true) {
      try {
        Map<String, TopicDescription> descriptions =
            admin.describeTopics(topics).allTopicNames().get(remaining(deadline), TimeUnit.MILLISECONDS);
        Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
        boolean named = true;
        for (TopicDescription d : descriptions.values()) {
          for (var p : d.partitions()) {
            named &= p.leader() != null && !p.leader().isEmpty();
            partitions.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.latest());
          }
        }
        if (named) {
          admin.listOffsets(partitions).all().get(remaining(deadline), TimeUnit.MILLISECONDS);
          return;
        }
        lastProblem = "a partition has no leader yet";
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof RetriableException)) {
          throw new PlatformException("cannot describe topics " + topics + ": " + e.getCause(), e.getCause());
        }
        lastProblem = e.getCause().toString();
      }
      if (remaining(deadline) <= 0) {
        throw new TimeoutException("topics not served by a leader in time ("
            + lastProblem + "): " + topics);
      }
      Thread.sleep(50); // polling interval of a deadline-bounded wait
    }
  }

  private static long remaining(Instant deadline) {
    return Math.max(0, Duration.between(Instant.now(), deadline).toMillis());
  }
}
