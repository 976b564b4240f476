package io.fractalrmo.app.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fractalrmo.app.demo.DemoExpectations;
import io.fractalrmo.app.demo.DemoReport;
import io.fractalrmo.app.demo.DemoRunner;
import io.fractalrmo.app.demo.Workload;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.streams.StreamsSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small demo on the real stack (broker, registry, analyzers, executors, validator, streams
 * app), judged on its JSON report: canonical solutions pass, fixable faults are fixed once rules
 * are adopted — measured as a same-run A/B of wave 2, the same tasks with {@code fractal.rules=off}
 * and with rules on — wrong results stay failed both ways, every ACTIVE rule was tried with a
 * guard arm and a significant test, and is watched live against wave 2's rules-off arm.
 */
class DemoEndToEndTest {

  @TempDir
  Path dir;

  @Test
  void smallDemoLearnsRulesThatFixFixableFaultsAndNothingElse() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(new TeeStream(console), true, StandardCharsets.UTF_8);
    DemoReport report;
    // one broker for the test JVM (its close() is a no-op; it stops when the JVM exits)
    TestStack stack = TestStack.shared();
    try (Pipeline pipeline = Pipeline.start(stack, dir.resolve("streams"),
        StreamsSettings.demo())) {
      DemoRunner runner = new DemoRunner(pipeline.endpoints(), pipeline.serdeConfig(),
          // 40 tasks: 24 to learn from, 8 compared off/on (4 of them fixable, so one task that
          // stays failed with rules on still leaves a 75 % reduction)
          new DemoRunner.Options(40, 5, 1_000, Duration.ofSeconds(75), Duration.ofSeconds(75),
              Duration.ofSeconds(1), Duration.ofSeconds(3), Workload.DEFAULT), out);
      report = runner.run();
    }
    out.print(report.toTable());
    Path[] files = DemoRunner.write(report, dir.resolve("report.json"));
    JsonNode json = new ObjectMapper().readTree(Files.readString(files[0]));
    String text = console.toString(StandardCharsets.UTF_8);

    assertThat(json.get("tasks_total").asInt()).isEqualTo(40);
    assertThat(json.get("comparison_tasks").asInt()).isEqualTo(8);
    assertThat(json.get("canonical_pass_rate").asDouble()).as(text).isEqualTo(1.0);
    // the rules-off arm really ran without rules (the executor honours fractal.rules=off)
    assertThat(json.get("rules_off_tasks_with_rules_applied").asLong()).as(text).isZero();
    double off = json.get("fixable_error_rate_rules_off").asDouble();
    double on = json.get("fixable_error_rate_rules_on").asDouble();
    assertThat(off).as(text).isGreaterThanOrEqualTo(0.75);
    assertThat(json.get("fixable_error_reduction").asDouble()).as(text)
        .isGreaterThanOrEqualTo(0.70);
    assertThat(on).as(text).isLessThanOrEqualTo(off * 0.30);
    assertThat(json.get("unfixable_error_rate_before_learning").asDouble()).as(text).isEqualTo(1.0);
    assertThat(json.get("unfixable_error_rate_rules_off").asDouble()).as(text).isEqualTo(1.0);
    assertThat(json.get("unfixable_error_rate_rules_on").asDouble()).as(text).isEqualTo(1.0);
    assertThat(json.get("harmful_rules_adopted")).as(text).isEmpty();
    // the expectations of a default run, in one place (DemoExpectations); 40 tasks have two or
    // three syntax slips, too few for a cost-saving rule's sign test: the full demo shows that
    assertThat(DemoExpectations.unmet(report, Workload.DEFAULT,
        Set.of(DemoExpectations.Expectation.COST_SAVING_ADOPTED))).as(text).isEmpty();
    assertThat(json.get("rules")).as(text).anySatisfy(r ->
        assertThat(r.get("status").asText()).isEqualTo("ACTIVE"));
    for (JsonNode rule : json.get("rules")) {
      if (rule.get("status").asText().equals("ACTIVE")) {
        JsonNode trial = rule.get("trial");
        assertThat(trial.isNull()).as("ACTIVE rule %s without a trial", rule).isFalse();
        assertThat(trial.get("decision").asText()).isEqualTo("ADOPTED");
        assertThat(trial.get("guard").get("actions").asInt()).as(text).isGreaterThanOrEqualTo(3);
        assertThat(trial.get("guard").get("failures").asInt()).isZero();
        assertThat(trial.get("p_value").asDouble()).isLessThanOrEqualTo(
            trial.get("alpha").asDouble());
        // watched live: wave 2's rules-off arm is its holdout
        assertThat(rule.get("live").isNull()).as("ACTIVE rule %s not watched", rule).isFalse();
        assertThat(rule.get("live").get("holdout_actions").asInt()).isPositive();
      }
    }
    assertThat(json.get("latency_ms_p50").asLong()).isPositive();
    assertThat(json.get("latency_ms_p99").asLong())
        .isGreaterThanOrEqualTo(json.get("latency_ms_p50").asLong());
    assertThat(json.get("throughput_tasks_per_s").asDouble()).isPositive();
    assertThat(json.get("duration_s").asDouble()).isPositive();
    assertThat(text).contains("wave 1", "wave 2", "pattern", "ACTIVE", "before learning",
        "rules OFF", "rules ON");
    assertThat(Files.readString(files[1])).contains("<svg", "ACTIVE");
  }

  /** Prints to the console as well as capturing, so a failing run can be read. */
  private static final class TeeStream extends java.io.OutputStream {
    private final ByteArrayOutputStream capture;

    TeeStream(ByteArrayOutputStream capture) {
      this.capture = capture;
    }

    @Override
    public void write(int b) {
      capture.write(b);
      System.out.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      capture.write(b, off, len);
      System.out.write(b, off, len);
    }
  }
}
