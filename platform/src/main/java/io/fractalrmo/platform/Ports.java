package io.fractalrmo.platform;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Loopback port helpers: pick a free port, or check that a pinned one is free. */
public final class Ports {

  private Ports() {
  }

  /** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
  public static int free() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new PlatformException("cannot find a free TCP port on 127.0.0.1: " + e.getMessage(), e);
    }
  }

  /** Whether nothing listens on 127.0.0.1:port and we may bind it. */
  public static boolean isFree(int port) {
    if (port <= 0 || port > 65535) {
      return false;
    }
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The port to use: {@code requested} when it is free, a free one when it is 0.
   *
   * @param what what will listen there, for the message ("Kafka", "PostgreSQL")
   * @param flag the command-line flag that pins it, for the message
   * @throws PlatformException when a pinned port is taken
   */
  public static int resolve(int requested, String what, String flag) {
    if (requested == 0) {
      return free();
    }
    if (requested < 0 || requested > 65535) {
      throw new PlatformException(what + " port " + requested + " is not a TCP port: use 1-65535, or 0 for a free one (" + flag + ")");
    }
    if (!isFree(requested)) {
      throw new PlatformException("port " + requested + " for " + what + " is already in use on 127.0.0.1: "
          + "stop what listens there, or pick another port with " + flag + " (0 = any free port)");
    }
    return requested;
  }
}
