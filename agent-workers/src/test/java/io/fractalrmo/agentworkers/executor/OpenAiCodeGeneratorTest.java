package io.fractalrmo.agentworkers.executor;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.sandbox.PythonSandbox;
import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.ExecutionResult;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.TopicCatalog;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The model backend against a local HTTP server standing in for a hosted chat-completions API. */
class OpenAiCodeGeneratorTest {

  HttpServer server;
  final List<JsonNode> requests = new CopyOnWriteArrayList<>();
  volatile int status = 200;
  volatile String answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\n";

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/v1/chat/completions", ex -> {
      requests.add(new ObjectMapper().readTree(ex.getRequestBody()));
      String body = new ObjectMapper().createObjectNode().set("choices", new ObjectMapper().createArrayNode()
          .add(new ObjectMapper().createObjectNode().set("message", new ObjectMapper().createObjectNode()
              .put("role", "assistant").put("content", answer)))).toString();
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, bytes.length);
      ex.getResponseBody().write(bytes);
      ex.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
  }

  @Test
  void shouldGenerateRunAndRecordTheGuidelineRule() {
    CodeGenerator gen = new OpenAiCodeGenerator(url(), "test-model", "k", Duration.ofSeconds(10));
    ProtocolRule guideline = Actions.rule("r-guide", RuleActionKind.PROMPT_GUIDELINE,
        Map.of("guideline", "Always import what you use."), ErrorCategory.DEPENDENCY, "NameError", "typing");
    try (PythonSandbox sandbox = PythonSandbox.create(new PythonSandbox.Options(1, true));
         PythonAnalysisHelper helper = new PythonAnalysisHelper()) {
      ExecutorHandler executor = new ExecutorHandler("exec-model", TopicCatalog.withPrefix("m."), sandbox, helper,
          () -> List.of(guideline), gen, Clock.systemUTC());
      ActionItem a = Actions.execute(null).setType(ActionType.GENERATE_CODE)
          .setInput(ExecutionInput.newBuilder().setPrompt("Add two numbers.").setEntryPoint("add")
              .setTestCode("def check(c):\n    assert c(1, 2) == 3\n").build()).build();
      ExecutionResult r = (ExecutionResult) executor.handle(a.getTaskId(), a).get(0).value();
      assertThat(r.getSuccess()).as(String.valueOf(r.getError())).isTrue();
      assertThat(r.getCode()).isEqualTo("def add(a, b):\n    return a + b\n");
      assertThat(r.getAppliedRuleIds()).containsExactly("r-guide");
    }
    JsonNode req = requests.get(0);
    assertThat(req.path("model").asText()).isEqualTo("test-model");
    assertThat(req.path("messages").get(0).path("content").asText()).contains("Always import what you use.").contains("`add`");
    assertThat(req.path("messages").get(1).path("content").asText()).isEqualTo("Add two numbers.");
  }

  @Test
  void shouldAskTheModelToFixASyntaxError() {
    CodeGenerator gen = new OpenAiCodeGenerator(url(), "m", null, Duration.ofSeconds(10));
    try (PythonSandbox sandbox = PythonSandbox.create(new PythonSandbox.Options(1, true));
         PythonAnalysisHelper helper = new PythonAnalysisHelper()) {
      ExecutorHandler executor = new ExecutorHandler("exec-model", TopicCatalog.withPrefix("m."), sandbox, helper,
          List::of, gen, Clock.systemUTC());
      ActionItem a = Actions.execute("def add(a, b)\n    return a + b\n", "def check(c):\n    assert c(1, 2) == 3\n", "add")
          .setType(ActionType.FIX_SYNTAX).build();
      ExecutionResult r = (ExecutionResult) executor.handle(a.getTaskId(), a).get(0).value();
      assertThat(r.getSuccess()).as(String.valueOf(r.getError())).isTrue();
      assertThat(r.getCode()).isEqualTo("def add(a, b):\n    return a + b\n");
    }
    assertThat(requests.get(0).path("messages").get(1).path("content").asText())
        .contains("SyntaxError").contains("line 1").contains("def add(a, b)");
  }

  @Test
  void shouldFailAsADependencyErrorWhenTheBackendFails() throws Exception {
    status = 503;
    CodeGenerator gen = new OpenAiCodeGenerator(url(), "m", null, Duration.ofSeconds(10));
    try (PythonSandbox sandbox = PythonSandbox.create(new PythonSandbox.Options(0, true));
         PythonAnalysisHelper helper = new PythonAnalysisHelper()) {
      ExecutorHandler executor = new ExecutorHandler("exec-model", TopicCatalog.withPrefix("m."), sandbox, helper,
          List::of, gen, Clock.systemUTC());
      ActionItem a = Actions.execute(null).setType(ActionType.GENERATE_CODE)
          .setInput(ExecutionInput.newBuilder().setPrompt("p").build()).build();
      ExecutionResult r = (ExecutionResult) executor.handle(a.getTaskId(), a).get(0).value();
      assertThat(r.getSuccess()).isFalse();
      assertThat(r.getErrorCategory()).isEqualTo(ErrorCategory.DEPENDENCY);
      assertThat(r.getError().getMessage()).contains("503");
    }
  }

  @Test
  void shouldBeConfiguredOnlyByTheEnvironment() {
    assertThat(OpenAiCodeGenerator.fromEnvironment(Map.of())).isEmpty();
    assertThat(OpenAiCodeGenerator.fromEnvironment(Map.of("FRACTAL_MODEL_URL", "http://x/v1"))).isPresent();
    assertThat(OpenAiCodeGenerator.extractCode("no fence")).isEqualTo("no fence\n");
  }
}
