package io.fractalrmo.app.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.app.ExitCodes;
import io.fractalrmo.app.FractalCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code fractal bench --quick} end to end on the embedded stack: the report is complete, every
 * canonical solution SUCCEEDED through the pipeline and every zero-cost task ended as that mode
 * says. No figure is asserted beyond "measured" (positive): figures belong to the benchmark.
 */
class BenchCommandTest {

  @TempDir
  Path dir;

  @Test
  void shouldRefuseAnUnknownWorkloadBeforeStartingAnything() {
    CommandLine cli = FractalCommand.commandLine();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(new StringWriter()));
    cli.setErr(new PrintWriter(err, true));

    int code = cli.execute("bench", "--workloads", "work,nope", "--data-dir", dir.toString());

    assertThat(code).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("--workloads: unknown [nope]");
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void shouldRefuseAReportItCannotWriteBeforeStartingAnything() throws Exception {
    Path blocker = Files.writeString(dir.resolve("not-a-dir"), "x");
    Path data = dir.resolve("data");
    CommandLine cli = FractalCommand.commandLine();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(new StringWriter()));
    cli.setErr(new PrintWriter(err, true));

    int code = cli.execute("bench", "--quick", "--data-dir", data.toString(),
        "--report", blocker.resolve("bench.json").toString());

    assertThat(code).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("--report: cannot write")
        .contains(blocker + " exists and is not a directory");
    assertThat(data).doesNotExist();
  }

  @Test
  void shouldPutTheReportIntoAnExistingDirectoryAndMakeAMissingParent() throws Exception {
    Path existing = Files.createDirectories(dir.resolve("reports"));
    assertThat(BenchCommand.writableReport(existing)).isEqualTo(existing.resolve("bench.json"));

    Path nested = dir.resolve("a/b/run1.json");
    assertThat(BenchCommand.writableReport(nested)).isEqualTo(nested);
    assertThat(nested.getParent()).isDirectory();
  }

  @Test
  @Timeout(900) // a loaded 2-core machine: the quick run takes about a minute idle
  void shouldReportEveryFigureAndEverySuccessInAQuickRun() throws Exception {
    CommandLine cli = FractalCommand.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));

    int code = cli.execute("bench", "--quick", "--data-dir", dir.toString());

    assertThat(code).as("exit code; out:%n%s%nerr:%n%s", out, err).isEqualTo(ExitCodes.OK);
    JsonNode r = new ObjectMapper().readTree(dir.resolve("bench.json").toFile());
    assertThat(r.path("complete").asBoolean()).isTrue();
    assertThat(r.path("failures")).isEmpty();
    assertThat(r.path("machine").path("sizes").asText()).isEqualTo("quick");
    assertThat(r.path("workloads")).extracting(JsonNode::asText)
        .containsExactly("work", "latency", "plumbing", "rules", "scaling");

    JsonNode work = r.path("work");
    JsonNode pipeline = work.path("pipeline");
    assertThat(pipeline.path("tasks").asInt()).isPositive();
    assertThat(pipeline.path("succeeded").asInt()).isEqualTo(pipeline.path("tasks").asInt());
    assertThat(pipeline.path("not_succeeded")).isEmpty();
    assertThat(pipeline.path("planned_without_all_analyses").asInt())
        .isBetween(0, pipeline.path("tasks").asInt());
    assertThat(work.path("bare_before").path("passed").asInt())
        .isEqualTo(work.path("bare_before").path("programs").asInt()).isPositive();
    assertThat(work.path("bare_after").path("passed").asInt())
        .isEqualTo(work.path("bare_after").path("programs").asInt());
    assertThat(List.of(pipeline.path("tasks_per_s").asDouble(),
        work.path("bare_tasks_per_s").asDouble(), work.path("ratio").asDouble(),
        pipeline.path("cpu").path("tree_ms_per_task").asDouble()))
        .allSatisfy(v -> assertThat(v).isPositive());

    JsonNode latency = r.path("latency");
    assertThat(latency.path("tasks").asInt()).isPositive();
    assertThat(latency.path("to_final_transition_ms").path("p50").asDouble()).isPositive();
    List<String> stages = new ArrayList<>();
    latency.path("stages_ms_p50").fieldNames().forEachRemaining(stages::add);
    assertThat(stages).contains("RECEIVED", "PLANNED", "EXECUTING", "VALIDATING",
        "final (SUCCEEDED)");
    JsonNode rawHop = latency.path("raw_eos_hop_ms");
    assertThat(rawHop.path("commit_to_visible").path("n").asInt()).isPositive();
    assertThat(rawHop.path("commit_to_visible").path("p50").asDouble()).isPositive()
        .isLessThanOrEqualTo(rawHop.path("input_to_output_visible").path("p50").asDouble());

    JsonNode plumbing = r.path("plumbing");
    assertThat(plumbing.path("as_expected").asInt()).isEqualTo(plumbing.path("tasks").asInt())
        .isPositive();
    assertThat(plumbing.path("hops")).hasSize(6).allSatisfy(h -> {
      assertThat(h.path("pipeline_records_per_s").asDouble()).isPositive();
      assertThat(h.path("raw_alos_produce_per_s").asDouble()).isPositive();
      assertThat(h.path("raw_eos_consume_per_s").asDouble()).isPositive();
    });
    // each hop's role alone wrote exactly what it wrote in the pipeline, from the same records
    assertThat(plumbing.path("hops_alone")).extracting(h -> h.path("topic").asText())
        .containsExactly("fractal.analyses", "fractal.action-items", "fractal.task-status",
            "fractal.execution-results", "fractal.validation-outcomes");
    assertThat(plumbing.path("hops_alone")).allSatisfy(h -> {
      assertThat(h.path("expected").asLong()).as(h.path("topic").asText()).isPositive();
      assertThat(h.path("seen").asLong()).as(h.path("topic").asText())
          .isEqualTo(h.path("expected").asLong());
    });

    JsonNode rules = r.path("rule_propagation");
    for (String path : List.of("early_emission", "window_close")) {
      JsonNode p = rules.path(path);
      assertThat(p.path("rules").asInt()).as(path).isPositive();
      assertThat(p.path("to_active_ms").path("p50").asDouble()).as(path).isPositive();
    }

    assertThat(r.path("scaling")).hasSize(2).allSatisfy(s ->
        assertThat(s.path("succeeded").asInt()).isEqualTo(s.path("tasks").asInt()).isPositive());

    assertThat(out.toString()).contains("work", "latency", "plumbing", "scaling",
        "latency: raw Kafka EOS hop");
    assertThat(Files.readString(dir.resolve("bench.html"))).contains("<svg");
    // the roles' log lines went to the file the run names, not to its output
    Path log = dir.resolve("logs").resolve("fractal.log").toAbsolutePath().normalize();
    assertThat(out.toString()).contains("logs:   " + log);
    assertThat(Files.readString(log)).contains("INFO");
  }
}
