package io.fractalrmo.agentworkers.worker;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Agent ids: {@code <role>-<host>-<slot>} for worker instances (stable across restarts: the slot
 * is a {@link io.fractalrmo.runtime.SlotLease} of the host), {@code <role>-<host>-<random>} for
 * one-off clients.
 */
public final class AgentIds {

  private static final SecureRandom RANDOM = new SecureRandom();

  private AgentIds() {
  }

  /** {@code <role>-<host>-<slot>}. */
  public static String slotAgentId(String role, int slot) {
    return role + "-" + host() + "-" + slot;
  }

  public static String newAgentId(String role) {
    byte[] bytes = new byte[4];
    RANDOM.nextBytes(bytes);
    return role + "-" + host() + "-" + HexFormat.of().formatHex(bytes);
  }

  /** The host name, reduced to characters safe in a Kafka client/transactional id. */
  public static String host() {
    String name;
    try {
      name = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      name = System.getenv().getOrDefault("HOSTNAME", "localhost");
    }
    String safe = name.replaceAll("[^A-Za-z0-9.-]", "_");
    return safe.isEmpty() ? "localhost" : safe;
  }
}
