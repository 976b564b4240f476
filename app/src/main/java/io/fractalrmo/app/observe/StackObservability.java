package io.fractalrmo.app.observe;

import io.fractalrmo.app.dashboard.DashboardServlet;
import io.fractalrmo.app.dashboard.LiveView;
import io.fractalrmo.app.mcp.FractalMcpServer;
import io.fractalrmo.app.mcp.FractalTools;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@code fractal up} and {@code fractal demo} serve on their one HTTP port: the live
 * dashboard ({@code /}, fed by a {@link LiveView} of the topics), {@code /metrics} for every
 * in-process role (tag {@code role}) plus the pipeline's topics and consumer lag, {@code /health}
 * from the roles' real state, and the MCP server over Streamable HTTP at {@code /mcp}.
 */
public final class StackObservability implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(StackObservability.class);

  private final Deque<AutoCloseable> resources = new ArrayDeque<>();
  private HttpEndpoint http;
  private LiveView view;

  private StackObservability() {
  }

  /**
   * Starts it all on {@code host:port} (0 = a free port) for the stack at {@code endpoints} with
   * its started {@code roles} (name to what the role's starter returned).
   */
  public static StackObservability start(Endpoints endpoints, Map<String, AutoCloseable> roles,
      String host, int port) {
    StackObservability o = new StackObservability();
    try {
      o.startAll(endpoints, roles, host, port);
      return o;
    } catch (RuntimeException e) {
      o.close();
      throw e;
    }
  }

  private void startAll(Endpoints endpoints, Map<String, AutoCloseable> roles, String host, int port) {
    PrometheusMeterRegistry registry = ProcessMetrics.registry();
    resources.push(registry::close);
    Map<String, Object> serdes = FractalSerdes.config(endpoints.schemaRegistryUrl());
    view = LiveView.start(endpoints, serdes);
    resources.push(view);
    RoleMetrics metrics = new RoleMetrics(registry);
    resources.push(metrics);
    List<RoleProbe> probes = new ArrayList<>();
    roles.forEach((name, running) -> {
      RoleProbe probe = RoleProbe.of(name, running);
      probes.add(probe);
      metrics.bindRole(name, running, probe);
    });
    LiveView liveView = view;
    probes.add(new RoleProbe("live-view", () -> new RoleProbe.Status(liveView.failure() == null,
        liveView.caughtUp(), liveView.failure() != null ? "stopped: " + liveView.failure()
            : liveView.caughtUp() ? "following the topics" : "reading the topics")));
    metrics.bindView(view);
    ConsumerLag lag = new ConsumerLag(endpoints.bootstrapServers(),
        endpoints.topics().prefix() + "fractal-", Duration.ofSeconds(10), registry);
    resources.push(lag);
    FractalTools tools = new FractalTools(endpoints, view, serdes);
    resources.push(tools);
    HttpServletStreamableServerTransportProvider mcpTransport = FractalMcpServer.httpTransport(host);
    McpSyncServer mcp = FractalMcpServer.serve(mcpTransport, tools);
    resources.push(mcp::closeGracefully);
    DashboardServlet dashboard = new DashboardServlet(view);
    http = HttpEndpoint.on(host, port)
        .metrics(registry)
        .health(new Health(probes))
        .servlet(FractalMcpServer.HTTP_PATH, mcpTransport)
        .servlet("/", dashboard)
        .closing(dashboard)
        .start();
    resources.push(http);
    LOG.info("dashboard, metrics, health and MCP on {}", http.url());
  }

  public LiveView view() {
    return view;
  }

  /** {@code http://host:port}: the dashboard. */
  public String url() {
    return http.url();
  }

  public String metricsUrl() {
    return http.url() + "/metrics";
  }

  public String healthUrl() {
    return http.url() + "/health";
  }

  public String mcpUrl() {
    return http.url() + FractalMcpServer.HTTP_PATH;
  }

  @Override
  public void close() {
    while (!resources.isEmpty()) {
      try {
        resources.pop().close();
      } catch (Exception e) {
        LOG.warn("stopping the observability endpoint: {}", e.toString());
      }
    }
  }
}
