package io.fractalrmo.app.dashboard;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * The live dashboard: the page and its assets from the jar ({@code /}, {@code /assets/*}), the
 * current state as JSON ({@code /api/snapshot}) and as server-sent events ({@code /events}: one
 * {@code snapshot} event per published change of the {@link LiveView}, a comment every 15 s to
 * keep proxies from closing an idle stream). Nothing is fetched from elsewhere.
 */
public final class DashboardServlet extends HttpServlet implements AutoCloseable {

  private static final String ASSETS = "/io/fractalrmo/app/dashboard/web/";
  private static final Map<String, String> TYPES = Map.of(
      "html", "text/html; charset=utf-8",
      "js", "text/javascript; charset=utf-8",
      "css", "text/css; charset=utf-8",
      "svg", "image/svg+xml");
  private static final Duration KEEPALIVE = Duration.ofSeconds(15);

  private final transient LiveView view;
  private volatile boolean closed;

  public DashboardServlet(LiveView view) {
    this.view = view;
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String path = req.getRequestURI();
    if (path.equals("/") || path.equals("/index.html")) {
      asset("index.html", resp);
    } else if (path.startsWith("/assets/") && path.matches("/assets/[a-z0-9-]+\\.(js|css|svg)")) {
      asset(path.substring("/assets/".length()), resp);
    } else if (path.equals("/api/snapshot")) {
      LiveView.Snapshot s;
      try {
        s = view.awaitSnapshot(-1, Duration.ZERO);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        resp.sendError(503);
        return;
      }
      byte[] body = s.json().getBytes(StandardCharsets.UTF_8);
      resp.setContentType("application/json");
      resp.setHeader("Cache-Control", "no-store");
      resp.setContentLength(body.length);
      resp.getOutputStream().write(body);
    } else if (path.equals("/events")) {
      events(resp);
    } else {
      resp.sendError(404);
    }
  }

  private void asset(String name, HttpServletResponse resp) throws IOException {
    try (InputStream in = DashboardServlet.class.getResourceAsStream(ASSETS + name)) {
      if (in == null) {
        resp.sendError(404);
        return;
      }
      byte[] body = in.readAllBytes();
      String ext = name.substring(name.lastIndexOf('.') + 1);
      resp.setContentType(TYPES.getOrDefault(ext, "application/octet-stream"));
      resp.setHeader("Cache-Control", "no-cache");
      resp.setContentLength(body.length);
      resp.getOutputStream().write(body);
    }
  }

  private void events(HttpServletResponse resp) throws IOException {
    resp.setContentType("text/event-stream");
    resp.setCharacterEncoding("UTF-8");
    resp.setHeader("Cache-Control", "no-store");
    resp.setHeader("X-Accel-Buffering", "no");
    OutputStream out = resp.getOutputStream();
    out.write("retry: 2000\n\n".getBytes(StandardCharsets.UTF_8));
    out.flush();
    long seen = -1;
    long lastWrite = System.nanoTime();
    try {
      while (!closed) {
        LiveView.Snapshot s = view.awaitSnapshot(seen, Duration.ofSeconds(1));
        if (s.version() > seen) {
          seen = s.version();
          out.write(("event: snapshot\nid: " + s.version() + "\ndata: " + s.json() + "\n\n")
              .getBytes(StandardCharsets.UTF_8));
          out.flush();
          lastWrite = System.nanoTime();
        } else if (System.nanoTime() - lastWrite > KEEPALIVE.toNanos()) {
          out.write(": keepalive\n\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
          lastWrite = System.nanoTime();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      // the page went away
    }
  }

  /** Ends every open event stream within a second. */
  @Override
  public void close() {
    closed = true;
  }
}
