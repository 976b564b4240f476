package io.fractalrmo.app.mcp;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.DefaultServerTransportSecurityValidator;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import io.modelcontextprotocol.server.transport.ServerTransportSecurityValidator;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpServerTransportProvider;
import io.modelcontextprotocol.spec.McpStreamableServerTransportProvider;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The MCP server of Fractal-RMO on the official Java SDK: tools to submit a task, follow it,
 * explain a failure, list rules and patterns; resources for the topic catalogue and the rule set.
 * The same tools over stdio ({@code fractal mcp}) and Streamable HTTP ({@code /mcp} on
 * {@code fractal up}). Tool inputs are checked against their JSON schemas by the SDK, and the
 * submit tool validates the task again like every other way in.
 */
public final class FractalMcpServer {

  public static final String TOPICS_URI = "fractal://topics";
  public static final String RULES_URI = "fractal://rules";
  /** Path of the Streamable HTTP endpoint. */
  public static final String HTTP_PATH = "/mcp";

  static final String SUBMIT_SCHEMA = """
      {"type": "object",
       "properties": {
         "task_id": {"type": "string", "minLength": 1, "maxLength": 200, "description": "default: a new UUID"},
         "description": {"type": "string", "description": "what the task is; a task needs a description or code"},
         "language": {"type": "string", "enum": ["PYTHON"]},
         "code": {"type": "string", "description": "candidate solution (Python)"},
         "entry_point": {"type": "string", "description": "function the tests call"},
         "test_code": {"type": "string", "description": "Python run after the code; the task passes when it raises nothing"},
         "priority": {"type": "integer", "minimum": 1, "maximum": 5},
         "time_limit_ms": {"type": "integer", "minimum": 1},
         "memory_limit_mb": {"type": "integer", "minimum": 1},
         "validation_level": {"type": "integer", "minimum": 1, "maximum": 4},
         "attributes": {"type": "object", "additionalProperties": {"type": "string"}}
       },
       "additionalProperties": false}""";
  static final String TASK_ID_SCHEMA = """
      {"type": "object",
       "properties": {"task_id": {"type": "string", "minLength": 1}},
       "required": ["task_id"], "additionalProperties": false}""";
  static final String RULES_SCHEMA = """
      {"type": "object",
       "properties": {"include_all": {"type": "boolean", "description": "also CANDIDATE, REJECTED and RETIRED rules"}},
       "additionalProperties": false}""";
  static final String EMPTY_SCHEMA = """
      {"type": "object", "properties": {}, "additionalProperties": false}""";

  private FractalMcpServer() {
  }

  /**
   * The Streamable HTTP transport, a servlet to mount at {@link #HTTP_PATH} of a server listening
   * on {@code host}. On a loopback address only loopback Host and Origin headers are accepted (a
   * web page that rebinds its own name to 127.0.0.1 cannot submit tasks); on another address the
   * Host must name that address, and a browser's Origin must be that address or loopback.
   */
  public static HttpServletStreamableServerTransportProvider httpTransport(String host) {
    DefaultServerTransportSecurityValidator.Builder security = DefaultServerTransportSecurityValidator.builder();
    List<String> names = new java.util.ArrayList<>(List.of("127.0.0.1", "localhost", "[::1]"));
    boolean anyAddress = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
    if (!names.contains(host) && !anyAddress) {
      names.add(host);
    }
    for (String name : names) {
      security.allowedHost(name + ":*").allowedOrigin("http://" + name + ":*");
    }
    ServerTransportSecurityValidator validator = security.build();
    if (anyAddress) {
      // every address of the machine: any Host, but a browser only from loopback pages
      ServerTransportSecurityValidator origins = validator;
      validator = headers -> origins.validateHeaders(withLoopbackHost(headers));
    }
    return HttpServletStreamableServerTransportProvider.builder()
        .jsonMapper(McpJsonDefaults.getMapper())
        .mcpEndpoint(HTTP_PATH)
        .keepAliveInterval(Duration.ofSeconds(30))
        .securityValidator(validator)
        .build();
  }

  private static Map<String, List<String>> withLoopbackHost(Map<String, List<String>> headers) {
    Map<String, List<String>> copy = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    copy.putAll(headers);
    copy.put("Host", List.of("127.0.0.1:1"));
    return copy;
  }

  /** Serves the tools over Streamable HTTP. */
  public static McpSyncServer serve(McpStreamableServerTransportProvider transport, FractalTools tools) {
    return configure(McpServer.sync(transport), tools);
  }

  /** Serves the tools over stdio ({@code in}/{@code out} of the process). */
  public static McpSyncServer serveStdio(InputStream in, OutputStream out, FractalTools tools) {
    McpServerTransportProvider transport = new StdioServerTransportProvider(McpJsonDefaults.getMapper(), in, out);
    return configure(McpServer.sync(transport), tools);
  }

  private static McpSyncServer configure(McpServer.SyncSpecification<?> spec, FractalTools tools) {
    McpJsonMapper json = McpJsonDefaults.getMapper();
    return spec
        .serverInfo("fractal-rmo", version())
        .instructions("Fractal-RMO runs AI-agent work as an event pipeline on Kafka. Submit a task with "
            + "submit_task, follow it with get_task_status, ask explain_task_failure why it failed; "
            + "list_active_rules and list_error_patterns show what the system learned.")
        .capabilities(McpSchema.ServerCapabilities.builder().tools(false).resources(false, false).build())
        .validateToolInputs(true)
        .requestTimeout(Duration.ofSeconds(60))
        .tools(
            tool(json, "submit_task", "Submit a task",
                "Validate a task (schema of fractal.tasks: description or code, priority 1-5, validation_level 1-4, ...) "
                    + "and write it to fractal.tasks. Invalid arguments are a tool error and nothing is submitted.",
                SUBMIT_SCHEMA, (x, r) -> tools.submit(r.arguments())),
            tool(json, "get_task_status", "Get a task's status",
                "The latest state of a task, its transitions, failure, applied rules and (once final) the validation outcome.",
                TASK_ID_SCHEMA, (x, r) -> tools.status(string(r.arguments(), "task_id"))),
            tool(json, "list_active_rules", "List protocol rules",
                "The ACTIVE protocol rules with their evidence (pattern, frequency, window, examples) and trial "
                    + "(error rate and cost without and with the rule); include_all adds the other statuses.",
                RULES_SCHEMA, (x, r) -> tools.rules(Boolean.TRUE.equals(r.arguments().get("include_all")))),
            tool(json, "list_error_patterns", "List error patterns",
                "The error patterns the pattern extractor found: key, frequency in its window, confidence, suggested fix, examples.",
                EMPTY_SCHEMA, (x, r) -> tools.patterns()),
            tool(json, "explain_task_failure", "Explain why a task failed",
                "A task's outcome with the validator's checks, the execution's error and output, the error events and the rules that were applied.",
                TASK_ID_SCHEMA, (x, r) -> tools.explain(string(r.arguments(), "task_id"))))
        .resources(
            resource(TOPICS_URI, "topics", "The topic catalogue: every topic with its partitions, cleanup policy, key and value record",
                tools::topics),
            resource(RULES_URI, "rules", "The rule set: the latest version of every protocol rule on fractal.protocol-rules",
                tools::ruleSet))
        .build();
  }

  @FunctionalInterface
  interface Call {
    ObjectNode apply(io.modelcontextprotocol.server.McpSyncServerExchange exchange,
        McpSchema.CallToolRequest request) throws FractalTools.ToolException;
  }

  private static McpServerFeatures.SyncToolSpecification tool(McpJsonMapper json, String name,
      String title, String description, String schema, Call call) {
    McpSchema.Tool tool = McpSchema.Tool.builder().name(name).title(title).description(description)
        .inputSchema(json, schema).build();
    BiFunction<io.modelcontextprotocol.server.McpSyncServerExchange, McpSchema.CallToolRequest,
        McpSchema.CallToolResult> handler = (exchange, request) -> {
          try {
            ObjectNode result = call.apply(exchange, request);
            return McpSchema.CallToolResult.builder().addTextContent(result.toPrettyString())
                .structuredContent(json, result.toString()).isError(false).build();
          } catch (FractalTools.ToolException e) {
            return McpSchema.CallToolResult.builder().addTextContent(e.getMessage()).isError(true).build();
          }
        };
    return McpServerFeatures.SyncToolSpecification.builder().tool(tool).callHandler(handler).build();
  }

  private static McpServerFeatures.SyncResourceSpecification resource(String uri, String name,
      String description, java.util.function.Supplier<ObjectNode> read) {
    McpSchema.Resource resource = McpSchema.Resource.builder().uri(uri).name(name)
        .description(description).mimeType("application/json").build();
    return new McpServerFeatures.SyncResourceSpecification(resource, (exchange, request) ->
        new McpSchema.ReadResourceResult(List.of(new McpSchema.TextResourceContents(uri,
            "application/json", read.get().toPrettyString()))));
  }

  private static String string(Map<String, Object> arguments, String name) {
    Object v = arguments == null ? null : arguments.get(name);
    return v == null ? null : v.toString();
  }

  private static String version() {
    String v = FractalMcpServer.class.getPackage().getImplementationVersion();
    return v == null ? "development" : v;
  }
}
