package io.fractalrmo.app.observe;

import io.fractalrmo.runtime.trace.Tracing;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's tracing, from the environment, set once when the command starts: on by default
 * with no exporter (trace headers only — {@code fractal status <task-id> --trace} rebuilds a
 * trace from them); {@code FRACTAL_OTLP_ENDPOINT} (else the standard
 * {@code OTEL_EXPORTER_OTLP_ENDPOINT}) also exports every span over OTLP/HTTP to
 * {@code <endpoint>/v1/traces}; {@code FRACTAL_TRACING=off} writes no trace header at all.
 */
public final class Telemetry {

  private static final Logger LOG = LoggerFactory.getLogger(Telemetry.class);

  private Telemetry() {
  }

  /** Sets {@link Tracing#process()} from {@code env}; returns what it chose, for a log line. */
  public static String configure(Map<String, String> env) {
    if ("off".equalsIgnoreCase(env.getOrDefault("FRACTAL_TRACING", "").trim())) {
      Tracing.setProcess(Tracing.off());
      return "tracing off";
    }
    Optional<String> endpoint = Optional.ofNullable(env.get("FRACTAL_OTLP_ENDPOINT"))
        .or(() -> Optional.ofNullable(env.get("OTEL_EXPORTER_OTLP_ENDPOINT")))
        .map(String::trim).filter(s -> !s.isEmpty());
    if (endpoint.isEmpty()) {
      return "tracing on (trace headers, no exporter)";
    }
    String url = endpoint.get().replaceAll("/+$", "");
    if (!url.toLowerCase(Locale.ROOT).endsWith("/v1/traces")) {
      url = url + "/v1/traces";
    }
    OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder().setEndpoint(url).build();
    Tracing tracing = Tracing.create(List.of(BatchSpanProcessor.builder(exporter).build()));
    Tracing.setProcess(tracing);
    Runtime.getRuntime().addShutdownHook(new Thread(tracing::close, "fractal-otlp-flush"));
    LOG.info("tracing on, spans exported to {}", url);
    return "tracing on, spans exported over OTLP to " + url;
  }
}
