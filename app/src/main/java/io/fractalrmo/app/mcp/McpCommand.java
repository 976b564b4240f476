package io.fractalrmo.app.mcp;

import io.fractalrmo.app.EndpointOptions;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.dashboard.LiveView;
import io.fractalrmo.app.run.Signals;
import io.fractalrmo.app.terminal.RoleLogs;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.modelcontextprotocol.server.McpSyncServer;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code fractal mcp}: the MCP server over stdio, for an agent that starts it as a child process.
 * Reads the pipeline through Kafka (the endpoints of a running {@code fractal up}, or the flags);
 * stdout carries only MCP messages, everything else goes to stderr.
 */
@Command(name = "mcp", mixinStandardHelpOptions = true,
    description = {
        "Serve Fractal-RMO's MCP tools (submit_task, get_task_status, explain_task_failure, "
            + "list_active_rules, list_error_patterns) and resources (fractal://topics, fractal://rules) over stdio.",
        "Runs until its input closes or SIGTERM; 'fractal up' serves the same over Streamable HTTP at /mcp."})
public final class McpCommand implements Callable<Integer> {

  @Mixin
  EndpointOptions endpointOptions;

  @Override
  public Integer call() throws Exception {
    Endpoints endpoints = endpointOptions.resolve();
    PrintStream protocolOut = System.out;
    System.setOut(System.err); // nothing but the protocol may reach stdout
    RoleLogs.toStandardError();
    CountDownLatch stop = Signals.stopRequested();
    InputStream in = new FilterInputStream(System.in) {
      @Override
      public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
          stop.countDown();
        }
        return b;
      }

      @Override
      public int read(byte[] buffer, int off, int len) throws IOException {
        int n = super.read(buffer, off, len);
        if (n < 0) {
          stop.countDown();
        }
        return n;
      }
    };
    var serdes = FractalSerdes.config(endpoints.schemaRegistryUrl());
    try (LiveView view = LiveView.start(endpoints, serdes);
         FractalTools tools = new FractalTools(endpoints, view, serdes)) {
      if (!view.awaitCaughtUp(Duration.ofSeconds(60))) {
        System.err.println("fractal mcp: still reading the topics after 60 s; serving what was read so far");
      }
      McpSyncServer server = FractalMcpServer.serveStdio(in, protocolOut, tools);
      try {
        stop.await();
      } finally {
        server.closeGracefully();
      }
    }
    return ExitCodes.OK;
  }
}
