package io.fractalrmo.app.observe;

import io.fractalrmo.agentworkers.roles.RunningRole;
import io.fractalrmo.agentworkers.worker.WorkerGroup;
import io.fractalrmo.streams.StreamsRole;
import java.util.function.Supplier;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Liveness and readiness of one running role, read from its real state: every worker thread of a
 * worker role still running ({@link RunningRole#healthy()}); the Kafka Streams state of the
 * streams role (live unless ERROR/shutting down/not running, ready when RUNNING). Roles without a
 * health signal of their own (sink, outbox) count as live and ready while started, and say so.
 */
public record RoleProbe(String role, Supplier<Status> status) {

  /** One reading. */
  public record Status(boolean live, boolean ready, String detail) {
  }

  public Status read() {
    try {
      return status.get();
    } catch (RuntimeException e) {
      return new Status(false, false, "health check failed: " + e);
    }
  }

  /** The probe of a started role, by what {@code Roles.Starter} returned. */
  public static RoleProbe of(String role, Object running) {
    if (running instanceof RunningRole r) {
      return new RoleProbe(role, () -> {
        long up = r.workers().stream().filter(w -> w.isRunning()).count();
        int all = r.workers().size();
        StringBuilder detail = new StringBuilder(up + "/" + all + " workers running");
        for (WorkerGroup g : r.groups()) {
          if (!g.healthy()) {
            detail.append("; ").append(g.role()).append(" not healthy");
          }
        }
        boolean healthy = r.healthy();
        return new Status(healthy, healthy, detail.toString());
      });
    }
    if (running instanceof StreamsRole s) {
      return new RoleProbe(role, () -> {
        KafkaStreams.State state = s.state();
        boolean live = switch (state) {
          case ERROR, PENDING_ERROR, NOT_RUNNING, PENDING_SHUTDOWN -> false;
          default -> true;
        };
        return new Status(live, state == KafkaStreams.State.RUNNING, "kafka streams " + state);
      });
    }
    return new RoleProbe(role, () -> new Status(true, true, "started (no health signal of its own)"));
  }
}
