package io.fractalrmo.app.up;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/**
 * The registry's port when another process takes it between the free-port check and the bind
 * (two stacks starting on one machine): a remembered port moves, a pinned one fails.
 */
class RegistryPortTest {

  @Test
  void shouldListenElsewhereWhenTheRememberedPortWasTakenMeanwhile() throws Exception {
    try (ServerSocket taken = takePort()) {
      int port = taken.getLocalPort();
      try (SchemaRegistryServer registry = LocalStack.startRegistry(
          SchemaRegistryServer::startInMemory, port, true)) {
        assertThat(registry.port()).isPositive().isNotEqualTo(port);
      }
    }
  }

  @Test
  void shouldFailWhenThePinnedPortIsTaken() throws Exception {
    try (ServerSocket taken = takePort()) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> LocalStack.startRegistry(SchemaRegistryServer::startInMemory, port,
          false)).hasCauseInstanceOf(BindException.class).hasMessageContaining(":" + port);
    }
  }

  private static ServerSocket takePort() throws Exception {
    ServerSocket socket = new ServerSocket();
    socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    return socket;
  }
}
