package io.fractalrmo.agentworkers.worker;

import io.fractalrmo.runtime.CompletedOffsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends the open transaction a SIGKILLed instance left behind, so that its partitions' new owner
 * does not wait for the transaction timeout: {@code committed()} (read_committed, KIP-447) waits
 * while the dead instance's offset commit is pending. The last stable commit's metadata names
 * the instance that wrote it ({@link CompletedOffsets#owner}); when that instance is no longer a
 * member of the group, a producer with its transactional id is initialised — exactly what the
 * instance itself would do on restart — which aborts the pending transaction at once. A live
 * instance is never fenced.
 */
@FunctionalInterface
public interface OrphanFencer {

  /** Fences the dead previous owners of {@code partitions}; returns how many were fenced. */
  int fenceOrphans(Collection<TopicPartition> partitions);

  /** Does nothing (tests, or no Admin client). */
  OrphanFencer NONE = partitions -> 0;

  /**
   * The fencer of one worker group.
   *
   * @param transactionalIdOf the transactional id of an instance id (as the group derives it)
   * @param producerConfig producer settings for a transactional id (to initialise, then close)
   */
  static OrphanFencer of(Admin admin, String groupId, String self,
      Function<String, String> transactionalIdOf,
      Function<String, Map<String, Object>> producerConfig) {
    Logger log = LoggerFactory.getLogger(OrphanFencer.class);
    return partitions -> {
      try {
        Map<TopicPartition, OffsetAndMetadata> stable = admin.listConsumerGroupOffsets(groupId,
                new ListConsumerGroupOffsetsOptions().requireStable(false))
            .partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
        Set<String> owners = new HashSet<>();
        for (TopicPartition tp : partitions) {
          OffsetAndMetadata om = stable.get(tp);
          if (om != null) {
            CompletedOffsets.owner(om.metadata()).ifPresent(owners::add);
          }
        }
        owners.remove(self);
        if (owners.isEmpty()) {
          return 0;
        }
        ConsumerGroupDescription group = admin.describeConsumerGroups(Set.of(groupId))
            .describedGroups().get(groupId).get(5, TimeUnit.SECONDS);
        for (MemberDescription m : group.members()) {
          m.groupInstanceId().ifPresent(owners::remove);
        }
        int fenced = 0;
        for (String dead : owners) {
          String txId = transactionalIdOf.apply(dead);
          try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(producerConfig.apply(txId))) {
            p.initTransactions(); // bumps the epoch: the orphan's open transaction is aborted
            fenced++;
            log.info("fenced the open transaction of {} ({}), no longer in group {}: its"
                + " partitions resume now instead of after the transaction timeout", dead, txId,
                groupId);
          }
        }
        return fenced;
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        log.warn("could not fence the previous owners of {}: {}", partitions, e.toString());
        return 0;
      }
    };
  }

  /** How long {@code committed()} may wait before the worker looks for an orphan to fence. */
  Duration COMMITTED_TIMEOUT = Duration.ofSeconds(3);
}
