package io.fractalrmo.app.observe;

import io.fractalrmo.platform.PlatformException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The HTTP port of a fractal process: {@code /metrics} (Prometheus text format),
 * {@code /health}, {@code /health/live}, {@code /health/ready} (200 or 503, JSON body), and
 * whatever else the process mounts (the dashboard, the MCP endpoint). One small Jetty server;
 * {@link #close()} stops it and the servlets' long-lived streams.
 */
public final class HttpEndpoint implements AutoCloseable {

  private final Server server;
  private final String url;
  private final List<AutoCloseable> onClose;

  private HttpEndpoint(Server server, String url, List<AutoCloseable> onClose) {
    this.server = server;
    this.url = url;
    this.onClose = onClose;
  }

  public static Builder on(String host, int port) {
    return new Builder(host, port);
  }

  /** What to serve. */
  public static final class Builder {
    private final String host;
    private final int port;
    private final Map<String, HttpServlet> servlets = new LinkedHashMap<>();
    private final List<AutoCloseable> onClose = new ArrayList<>();

    private Builder(String host, int port) {
      this.host = host;
      this.port = port;
    }

    public Builder metrics(PrometheusMeterRegistry registry) {
      servlets.put("/metrics", new MetricsServlet(registry));
      return this;
    }

    public Builder health(Health health) {
      HealthServlet servlet = new HealthServlet(health);
      servlets.put("/health/*", servlet); // also /health itself
      return this;
    }

    /** Mounts {@code servlet} at {@code pathSpec} (servlet path spec, e.g. {@code /mcp/*}). */
    public Builder servlet(String pathSpec, HttpServlet servlet) {
      servlets.put(pathSpec, servlet);
      return this;
    }

    /** Closed before the server stops (e.g. to end long-lived event streams). */
    public Builder closing(AutoCloseable resource) {
      onClose.add(resource);
      return this;
    }

    public HttpEndpoint start() {
      QueuedThreadPool threads = new QueuedThreadPool(32, 2);
      threads.setName("fractal-http");
      threads.setDaemon(true);
      Server server = new Server(threads);
      ServerConnector connector = new ServerConnector(server, 1, 1);
      connector.setHost(host);
      connector.setPort(port);
      server.addConnector(connector);
      server.setStopTimeout(3_000);
      ServletContextHandler context = new ServletContextHandler();
      context.setContextPath("/");
      servlets.forEach((path, servlet) -> {
        ServletHolder holder = new ServletHolder(servlet);
        holder.setAsyncSupported(true);
        context.addServlet(holder, path);
      });
      server.setHandler(context);
      try {
        server.start();
      } catch (Exception e) {
        try {
          server.stop();
        } catch (Exception ignored) {
          // already failing
        }
        throw new PlatformException("cannot serve HTTP on " + host + ":" + port + ": " + e.getMessage()
            + (port != 0 ? " (choose another port, or 0 for a free one)" : ""), e);
      }
      String shown = host.equals("0.0.0.0") ? "127.0.0.1" : host;
      return new HttpEndpoint(server, "http://" + shown + ":" + connector.getLocalPort(), onClose);
    }
  }

  /** {@code http://host:port} (no trailing slash). */
  public String url() {
    return url;
  }

  @Override
  public void close() {
    for (AutoCloseable c : onClose) {
      try {
        c.close();
      } catch (Exception e) {
        // stopping anyway
      }
    }
    try {
      server.stop();
    } catch (Exception e) {
      // stopping anyway
    }
  }

  static final class MetricsServlet extends HttpServlet {
    private final transient PrometheusMeterRegistry registry;

    MetricsServlet(PrometheusMeterRegistry registry) {
      this.registry = registry;
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      resp.setContentType("text/plain; version=0.0.4; charset=utf-8");
      resp.setContentLength(body.length);
      resp.getOutputStream().write(body);
    }
  }

  static final class HealthServlet extends HttpServlet {
    private final transient Health health;

    HealthServlet(Health health) {
      this.health = health;
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      Health.Report report = health.read();
      String path = req.getPathInfo() == null ? "" : req.getPathInfo();
      boolean ok = switch (path) {
        case "/live" -> report.live();
        case "/ready", "", "/" -> report.ready() && report.live();
        default -> {
          resp.sendError(404);
          yield false;
        }
      };
      if (resp.isCommitted()) {
        return;
      }
      byte[] body = (report.json() + "\n").getBytes(StandardCharsets.UTF_8);
      resp.setStatus(ok ? 200 : 503);
      resp.setContentType("application/json");
      resp.setContentLength(body.length);
      resp.getOutputStream().write(body);
    }
  }
}
