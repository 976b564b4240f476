package io.fractalrmo.app.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.fractalrmo.runtime.trace.Tracing;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The process's tracing from the environment: off, headers only, or exported over OTLP/HTTP. */
class TelemetryTest {

  private final Tracing before = Tracing.process();

  @AfterEach
  void restore() {
    Tracing.setProcess(before);
  }

  @Test
  void exportsSpansOverOtlpHttpToTheConfiguredEndpoint() throws Exception {
    // a local collector: records what arrives at /v1/traces
    List<String> received = new CopyOnWriteArrayList<>();
    HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      received.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath() + " "
          + exchange.getRequestHeaders().getFirst("Content-Type") + " "
          + new String(body, StandardCharsets.ISO_8859_1));
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    collector.start();
    try {
      String said = Telemetry.configure(Map.of("FRACTAL_OTLP_ENDPOINT",
          "http://127.0.0.1:" + collector.getAddress().getPort() + "/"));
      assertThat(said).contains("OTLP", "/v1/traces");
      Tracing tracing = Tracing.process();
      tracing.start("executor", "executor-test-0", new RecordHeaders()).writeTo(new RecordHeaders());
      tracing.close(); // flushes the batch processor
      assertThat(received).anySatisfy(r -> assertThat(r)
          .startsWith("POST /v1/traces application/x-protobuf")
          .contains("executor", "executor-test-0", "fractal"));
    } finally {
      collector.stop(0);
    }
  }

  @Test
  void offWritesNoTraceHeadersAndTheDefaultWritesThemWithoutExporting() {
    assertThat(Telemetry.configure(Map.of("FRACTAL_TRACING", "off"))).isEqualTo("tracing off");
    assertThat(Tracing.process().enabled()).isFalse();
    Tracing.setProcess(before);
    assertThat(Telemetry.configure(Map.of())).contains("no exporter");
    assertThat(Tracing.process()).isSameAs(before);
  }
}
