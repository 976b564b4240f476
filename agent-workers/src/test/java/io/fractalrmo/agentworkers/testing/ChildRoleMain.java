package io.fractalrmo.agentworkers.testing;

import io.fractalrmo.agentworkers.roles.RoleCatalog;
import io.fractalrmo.agentworkers.roles.RoleOptions;
import io.fractalrmo.agentworkers.roles.RunningRole;
import io.fractalrmo.agentworkers.worker.TransactionalWorker;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * A real worker role ({@link RoleCatalog#start}: real handlers, sandbox, Python) in its own JVM,
 * so a test can kill it abruptly. Args: role, bootstrap servers, registry URL, topic prefix.
 * Prints {@code SUBSCRIBED <agent id>} for each worker once the role runs, then runs until
 * killed (SIGKILL: nothing runs; SIGTERM: the role closes cleanly) or stdin closes.
 */
public final class ChildRoleMain {

  private ChildRoleMain() {
  }

  public static void main(String[] args) throws IOException {
    Endpoints endpoints = new Endpoints(args[1], args[2], Optional.empty(),
        TopicCatalog.withPrefix(args[3]));
    PrintStream out = System.out;
    try (RunningRole role = RoleCatalog.start(args[0], endpoints, killableOptions())) {
      role.closeOnShutdown();
      for (TransactionalWorker<?> worker : role.workers()) {
        out.println("SUBSCRIBED " + worker.agentId());
      }
      out.flush();
      while (System.in.read() >= 0) {
        // runs until the parent closes stdin or kills this JVM
      }
    }
  }

  /**
   * One instance with short timeouts, so a killed member is noticed quickly: a 6 s session (the
   * broker's minimum), 10 s transactions (a killed member's open transaction is aborted soon),
   * AgentStatus heartbeats every second.
   */
  public static RoleOptions killableOptions() {
    return RoleOptions.defaults()
        .withHeartbeatInterval(Duration.ofSeconds(1))
        .withConsumerOverrides(Map.of("session.timeout.ms", 6_000, "heartbeat.interval.ms", 1_000))
        .withProducerOverrides(Map.of("transaction.timeout.ms", 10_000));
  }
}
