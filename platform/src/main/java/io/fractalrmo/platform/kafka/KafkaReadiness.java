package io.fractalrmo.platform.kafka;

import io.fractalrmo.platform.PlatformException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Waits until a local cluster serves: every node's listener accepts connections, the expected
 * number of brokers is registered, and the controller accepts a topic with that replication
 * factor (a validate-only creation succeeds only once enough brokers are unfenced to place
 * replicas on).
 */
final class KafkaReadiness {

  private KafkaReadiness() {
  }

  static void await(String bootstrapServers, int brokers, Collection<KafkaNode> nodes,
      Instant deadline, Duration timeout) {
    for (KafkaNode node : nodes) {
      node.awaitListening(deadline);
    }
    Map<String, Object> config = Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000,
        AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 200,
        AdminClientConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 200);
    String lastProblem = "no answer yet";
    try (Admin admin = Admin.create(config)) {
      while (Instant.now().isBefore(deadline)) {
        for (KafkaNode node : nodes) {
          node.checkAlive("starting");
        }
        try {
          Collection<Node> registered = admin.describeCluster().nodes().get(3, TimeUnit.SECONDS);
          if (registered.size() >= brokers) {
            admin.createTopics(List.of(new NewTopic("fractal-readiness-probe", 1,
                    (short) brokers)), new CreateTopicsOptions().validateOnly(true)).all()
                .get(3, TimeUnit.SECONDS);
            return;
          }
          lastProblem = registered.size() + " of " + brokers + " broker(s) registered";
        } catch (ExecutionException e) {
          if (e.getCause() instanceof TopicExistsException) {
            return;
          }
          lastProblem = String.valueOf(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
          lastProblem = "timed out waiting for an answer";
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new PlatformException("interrupted while waiting for the Kafka broker", e);
        }
        KafkaNode.pause(100);
      }
    }
    throw new PlatformException("Kafka at " + bootstrapServers + " was not ready within "
        + timeout.toSeconds() + " s (" + lastProblem + "); see "
        + nodes.stream().map(n -> n.log().toString()).toList());
  }
}
