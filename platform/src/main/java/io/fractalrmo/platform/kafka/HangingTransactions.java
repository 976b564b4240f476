package io.fractalrmo.platform.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeProducersResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TransactionalIdNotFoundException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and aborts hanging transactions: a transaction open on a partition (the partition's
 * producer state has a current transaction start offset) that its transaction coordinator does
 * not know as ongoing on that partition. Nobody will ever write its commit or abort marker, so
 * the partition's last stable offset stays at its start and every read_committed reader of the
 * partition (a Kafka Streams store restoring from its changelog, a consumer, the transactional
 * offsets of a group) waits forever. A {@code kill -9} of a whole single-node stack, broker
 * included, can leave them behind.
 *
 * <p>The test is the one of Kafka's {@code kafka-transactions.sh find-hanging}
 * ({@code TransactionsCommand.FindHangingTransactionsCommand}): the open transactions of every
 * partition from {@code DescribeProducers}, the producer's transactional id from
 * {@code ListTransactions} filtered by producer id, and {@code DescribeTransactions}: hanging when
 * no transactional id is found, the coordinator does not know it, or the partitions it lists
 * (those of an ongoing transaction, and those still waiting for markers while it completes) do
 * not include the partition. Unlike the tool there is no minimum age: {@link #find} looks twice
 * and reports only what was hanging both times with the same start offset, so a transaction
 * that completes between the look at the partition and the look at the coordinator is not taken
 * for one. The abort is Kafka's {@code abort --start-offset} ({@code Admin.abortTransaction}
 * with the producer id, epoch and coordinator epoch the partition reports; a coordinator epoch of
 * -1, a producer that never completed a transaction, becomes 0 as in the tool).
 *
 * <p>Seen in {@code fractal chaos recovery}: after a kill -9 of the whole stack, a Streams
 * producer's transaction (epoch 356) still open on seven partitions — changelogs, a repartition
 * topic, {@code fractal.task-status}, {@code __consumer_offsets} — while its coordinator had it
 * CompleteAbort at epoch 357 without them (the broker had logged "Rollback of ongoing transaction
 * ... failed due to error NOT_COORDINATOR" while its coordinators reloaded on restart).
 */
public final class HangingTransactions {

  private static final Logger LOG = LoggerFactory.getLogger(HangingTransactions.class);
  /** Partitions per DescribeProducers request (as the tool: no giant request). */
  private static final int BATCH = 500;
  private static final String TRANSACTION_STATE = "__transaction_state";

  /** One hanging transaction, as the partition reports it, and why it counts as hanging. */
  public record Hanging(TopicPartition partition, long producerId, int producerEpoch,
      int coordinatorEpoch, long startOffset, String why) {

    AbortTransactionSpec abortSpec() {
      return new AbortTransactionSpec(partition, producerId, (short) producerEpoch,
          Math.max(0, coordinatorEpoch));
    }

    /** The command that aborts it with Kafka's own tool. */
    public String kafkaToolCommand(String bootstrapServers) {
      return "kafka-transactions.sh --bootstrap-server " + bootstrapServers + " abort --topic "
          + partition.topic() + " --partition " + partition.partition() + " --start-offset "
          + startOffset;
    }

    @Override
    public String toString() {
      return partition + " producer " + producerId + " epoch " + producerEpoch
          + " from offset " + startOffset + " (" + why + ")";
    }
  }

  private HangingTransactions() {
  }

  /**
   * For a broker this stack owns: finds the hanging transactions on every partition and aborts
   * them, logging each at WARN and how many there were. Best effort: a failure to look is
   * logged and returns what was aborted so far (start-up goes on; Streams would say what blocks
   * it).
   *
   * @return the aborted transactions
   */
  public static List<Hanging> repair(String bootstrapServers, Duration timeout) {
    long begin = System.nanoTime();
    List<Hanging> aborted = new ArrayList<>();
    try (Admin admin = admin(bootstrapServers)) {
      List<Hanging> hanging = find(admin, timeout);
      for (Hanging h : hanging) {
        LOG.warn("aborting a hanging transaction on {} (producer id {}, epoch {}, open from offset"
                + " {}; {}): its coordinator will never end it and read_committed readers of the"
                + " partition would wait forever", h.partition(), h.producerId(),
            h.producerEpoch(), h.startOffset(), h.why());
        admin.abortTransaction(h.abortSpec()).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        aborted.add(h);
      }
      LOG.info("{} hanging transaction(s) found and aborted in {} ms", aborted.size(),
          (System.nanoTime() - begin) / 1_000_000);
      return aborted;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      LOG.warn("could not check {} for hanging transactions ({}); if the Streams app does not"
          + " finish restoring, run: kafka-transactions.sh --bootstrap-server {} find-hanging"
          + " --broker-id <id>", bootstrapServers, e.toString(), bootstrapServers);
      return aborted;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return aborted;
    }
  }

  /**
   * For a cluster someone else owns: finds the hanging transactions and logs each with the
   * command that would abort it, but aborts nothing.
   *
   * @return the hanging transactions found
   */
  public static List<Hanging> report(String bootstrapServers, Duration timeout) {
    try (Admin admin = admin(bootstrapServers)) {
      List<Hanging> hanging = find(admin, timeout);
      for (Hanging h : hanging) {
        LOG.warn("hanging transaction on {} (producer id {}, epoch {}, open from offset {}; {}):"
                + " read_committed readers of the partition are blocked; this is not our broker, so"
                + " it is left alone; abort it with: {}", h.partition(), h.producerId(),
            h.producerEpoch(), h.startOffset(), h.why(), h.kafkaToolCommand(bootstrapServers));
      }
      LOG.info("{} hanging transaction(s) found on {} (external cluster: none aborted)",
          hanging.size(), bootstrapServers);
      return hanging;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      LOG.warn("could not check {} for hanging transactions: {}", bootstrapServers, e.toString());
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  /**
   * The hanging transactions on every partition of the cluster (internal topics included: a
   * hanging transaction on {@code __consumer_offsets} holds a group's transactional offsets),
   * looked for twice; retriable errors (a coordinator still loading) are retried until
   * {@code timeout}.
   */
  public static List<Hanging> find(Admin admin, Duration timeout)
      throws ExecutionException, InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        List<Hanging> first = findOnce(admin, timeout);
        if (first.isEmpty()) {
          return first;
        }
        Set<TopicPartition> partitions = new HashSet<>();
        first.forEach(h -> partitions.add(h.partition()));
        List<Hanging> second = findOnce(admin, partitions, timeout);
        List<Hanging> both = new ArrayList<>();
        for (Hanging h : second) {
          if (first.stream().anyMatch(f -> f.partition().equals(h.partition())
              && f.producerId() == h.producerId() && f.startOffset() == h.startOffset())) {
            both.add(h);
          }
        }
        return both;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof RetriableException) || System.nanoTime() > deadline) {
          throw e;
        }
        LOG.debug("looking for hanging transactions: {}; trying again", e.getCause().toString());
        TimeUnit.MILLISECONDS.sleep(200); // a coordinator loading: bounded by the deadline
      }
    }
  }

  private static List<Hanging> findOnce(Admin admin, Duration timeout)
      throws ExecutionException, InterruptedException, TimeoutException {
    Set<String> topics = new HashSet<>(admin.listTopics(new ListTopicsOptions().listInternal(true))
        .names().get(timeout.toMillis(), TimeUnit.MILLISECONDS));
    topics.remove(TRANSACTION_STATE); // the coordinators' own log is never transactional
    List<TopicPartition> partitions = new ArrayList<>();
    Map<String, TopicDescription> described = admin.describeTopics(topics).allTopicNames()
        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    described.forEach((topic, d) -> d.partitions()
        .forEach(p -> partitions.add(new TopicPartition(topic, p.partition()))));
    return findOnce(admin, partitions, timeout);
  }

  private static List<Hanging> findOnce(Admin admin, Collection<TopicPartition> partitions,
      Duration timeout) throws ExecutionException, InterruptedException, TimeoutException {
    List<TopicPartition> all = new ArrayList<>(partitions);
    List<Map.Entry<TopicPartition, ProducerState>> openList = new ArrayList<>();
    for (int i = 0; i < all.size(); i += BATCH) {
      Map<TopicPartition, DescribeProducersResult.PartitionProducerState> states = admin
          .describeProducers(all.subList(i, Math.min(all.size(), i + BATCH))).all()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      states.forEach((tp, state) -> state.activeProducers().forEach(p -> {
        if (p.currentTransactionStartOffset().isPresent()) {
          openList.add(Map.entry(tp, p));
        }
      }));
    }
    if (openList.isEmpty()) {
      return List.of();
    }
    Set<Long> producerIds = new HashSet<>();
    openList.forEach(e -> producerIds.add(e.getValue().producerId()));
    Map<Long, String> transactionalIds = new HashMap<>();
    for (TransactionListing listing : admin.listTransactions(new ListTransactionsOptions()
        .filterProducerIds(producerIds)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      if (producerIds.contains(listing.producerId())) {
        transactionalIds.put(listing.producerId(), listing.transactionalId());
      }
    }
    Map<String, Optional<TransactionDescription>> descriptions = new HashMap<>();
    if (!transactionalIds.isEmpty()) {
      var result = admin.describeTransactions(new HashSet<>(transactionalIds.values()));
      for (String id : new HashSet<>(transactionalIds.values())) {
        try {
          descriptions.put(id, Optional.of(result.description(id)
              .get(timeout.toMillis(), TimeUnit.MILLISECONDS)));
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TransactionalIdNotFoundException)) {
            throw e;
          }
          descriptions.put(id, Optional.empty());
        }
      }
    }
    List<Hanging> hanging = new ArrayList<>();
    for (Map.Entry<TopicPartition, ProducerState> e : openList) {
      TopicPartition tp = e.getKey();
      ProducerState p = e.getValue();
      String id = transactionalIds.get(p.producerId());
      String why;
      if (id == null) {
        why = "no coordinator knows producer id " + p.producerId();
      } else if (descriptions.get(id).isEmpty()) {
        why = "the coordinator does not know transactional id " + id;
      } else if (!descriptions.get(id).get().topicPartitions().contains(tp)) {
        TransactionDescription d = descriptions.get(id).get();
        why = "transactional id " + id + " is " + d.state() + " at epoch " + d.producerEpoch()
            + " without this partition";
      } else {
        continue; // ongoing, or its markers are still to be written: not hanging
      }
      hanging.add(new Hanging(tp, p.producerId(), p.producerEpoch(),
          p.coordinatorEpoch().orElse(-1), p.currentTransactionStartOffset().getAsLong(), why));
    }
    return hanging;
  }

  private static Admin admin(String bootstrapServers) {
    return Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000,
        AdminClientConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 500));
  }
}
