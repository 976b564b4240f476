package io.fractalrmo.streams;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberToRemove;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a changed topology get a real rebalance when the application runs as a static member
 * ({@code group.instance.id}). A static member that rejoins a stable group with the same
 * subscription gets its cached assignment back and the group leader skips the assignment, so
 * Streams' assignor never runs: it is what creates missing internal topics (the changelog of a
 * store the new release added) and places new tasks, and without it the application waits
 * forever. The fingerprint of the topology ({@code Topology.describe()}) is kept in the
 * application's state directory once it is RUNNING; when the next start finds a different one
 * (or none beside existing state, a directory from before this was kept), the group's static
 * members are removed first ({@code Admin.removeMembersFromConsumerGroup}), so the join is a
 * real rebalance. An unchanged topology keeps the fast rejoin.
 */
final class TopologyChange {

  private static final Logger LOG = LoggerFactory.getLogger(TopologyChange.class);
  static final String FILE = "fractal-topology.sha256";
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final Path appDir;
  private final String fingerprint;
  private final boolean changed;

  private TopologyChange(Path appDir, String fingerprint, boolean changed) {
    this.appDir = appDir;
    this.fingerprint = fingerprint;
    this.changed = changed;
  }

  /**
   * Compares {@code topology} with the one that last ran in {@code appDir}. No state directory
   * yet counts as unchanged: a new directory has a new static member id, whose first join is a
   * rebalance anyway.
   */
  static TopologyChange of(Path appDir, Topology topology) {
    String now = fingerprint(topology);
    if (!Files.isDirectory(appDir)) {
      return new TopologyChange(appDir, now, false);
    }
    String before = null;
    try {
      Path file = appDir.resolve(FILE);
      before = Files.isRegularFile(file) ? Files.readString(file, StandardCharsets.UTF_8).trim()
          : null;
    } catch (IOException e) {
      LOG.warn("cannot read {}: {}", appDir.resolve(FILE), e.toString());
    }
    return new TopologyChange(appDir, now, !now.equals(before));
  }

  boolean changed() {
    return changed;
  }

  /**
   * When the topology changed: removes every static member of the application's group (what a
   * killed or stopped predecessor left; the group then rebalances on the next join). Best
   * effort: a failure is logged and start-up goes on.
   *
   * @return the group instance ids removed
   */
  List<String> removeStaticMembers(String bootstrapServers, String groupId) {
    if (!changed) {
      return List.of();
    }
    try (Admin admin = Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis()))) {
      ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(groupId))
          .describedGroups().get(groupId).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      List<String> statics = group.members().stream()
          .filter(m -> m.groupInstanceId().isPresent())
          .map(m -> m.groupInstanceId().get()).toList();
      if (statics.isEmpty()) {
        LOG.info("the streams topology changed; group {} has no static member to remove", groupId);
        return statics;
      }
      admin.removeMembersFromConsumerGroup(groupId, new RemoveMembersFromConsumerGroupOptions(
          statics.stream().map(MemberToRemove::new).toList())).all()
          .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      LOG.info("the streams topology changed since it last ran in {}: removed the static"
          + " member(s) {} from group {}, so that the join rebalances (creating new internal"
          + " topics and tasks) instead of reusing the old assignment", appDir, statics, groupId);
      return statics;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof GroupIdNotFoundException
          || e.getCause() instanceof UnknownMemberIdException) {
        return List.of();
      }
      LOG.warn("the streams topology changed, but the static members of group {} could not be"
          + " removed ({}); if the app does not finish starting, remove them with"
          + " kafka-consumer-groups.sh --delete --group {} while it is stopped", groupId,
          e.getCause().toString(), groupId);
      return List.of();
    } catch (TimeoutException | RuntimeException e) {
      LOG.warn("the streams topology changed, but group {} could not be looked at: {}", groupId,
          e.toString());
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  /** Once the application runs this topology: the fingerprint the next start compares with. */
  void record() {
    try {
      Files.createDirectories(appDir);
      Path tmp = appDir.resolve(FILE + ".tmp");
      Files.writeString(tmp, fingerprint + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, appDir.resolve(FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      LOG.warn("cannot write {}: {} (the next start will rebalance once more)",
          appDir.resolve(FILE), e.toString());
    }
  }

  static String fingerprint(Topology topology) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(topology.describe().toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
