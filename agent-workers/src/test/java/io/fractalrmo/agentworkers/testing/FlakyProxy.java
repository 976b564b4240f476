package io.fractalrmo.agentworkers.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on an ephemeral loopback port in front of a real service (the schema registry),
 * that a test can take down and bring back: while down it accepts connections and closes them at
 * once (the client sees a reset or an empty answer — an outage, as a registry being restarted
 * looks). Closing it closes every connection and its port.
 */
public final class FlakyProxy implements AutoCloseable {

  private final ServerSocket server;
  private final InetSocketAddress target;
  private final AtomicBoolean up = new AtomicBoolean();
  private final AtomicInteger refused = new AtomicInteger();
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private final Thread acceptor;
  private volatile boolean closed;

  private FlakyProxy(URI target, boolean startUp) throws IOException {
    this.target = new InetSocketAddress(target.getHost(), target.getPort());
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.up.set(startUp);
    this.acceptor = new Thread(this::accept, "flaky-proxy-" + server.getLocalPort());
    this.acceptor.setDaemon(true);
    this.acceptor.start();
  }

  /** A proxy to {@code url} (http://host:port), up or down to begin with. */
  public static FlakyProxy to(String url, boolean startUp) throws IOException {
    return new FlakyProxy(URI.create(url), startUp);
  }

  /** The proxy's own URL, with the target's scheme. */
  public String url() {
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  public void up() {
    up.set(true);
  }

  public void down() {
    up.set(false);
    open.forEach(FlakyProxy::closeQuietly);
  }

  /** Connections refused while down. */
  public int refused() {
    return refused.get();
  }

  private void accept() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return;
      }
      if (!up.get()) {
        refused.incrementAndGet();
        closeQuietly(client);
        continue;
      }
      try {
        Socket upstream = new Socket(target.getAddress(), target.getPort());
        open.add(client);
        open.add(upstream);
        pipe(client, upstream);
        pipe(upstream, client);
      } catch (IOException e) {
        closeQuietly(client);
      }
    }
  }

  private void pipe(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[8192];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // one side closed
      } finally {
        closeQuietly(from);
        closeQuietly(to);
        open.remove(from);
        open.remove(to);
      }
    }, "flaky-proxy-pipe");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    open.forEach(FlakyProxy::closeQuietly);
  }
}
