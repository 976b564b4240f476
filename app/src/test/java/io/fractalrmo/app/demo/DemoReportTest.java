package io.fractalrmo.app.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DemoReportTest {

  private static List<Problem> problems;

  @BeforeAll
  static void load() {
    problems = HumanEvalProblems.load();
  }

  private static DemoPlan plan(int tasks, long seed) {
    return DemoPlan.build(problems, new FaultInjector(seed, 1_000), tasks, seed, "run");
  }

  @Test
  void planLearnsInWave1AndRunsTheSameFreshTasksTwiceInterleavedInWave2() {
    DemoPlan plan = plan(100, 7);
    assertThat(plan.all()).hasSize(100);
    assertThat(plan.all()).extracting(DemoTask::taskId).doesNotHaveDuplicates();
    assertThat(plan.wave1()).hasSize(60)
        .allMatch(t -> t.arm() == DemoTask.Arm.LEARN && t.wave() == 1);
    assertThat(plan.wave2()).hasSize(40).allMatch(t -> t.wave() == 2);
    Set<DemoTask.Arm> firstArms = new HashSet<>();
    for (int i = 0; i < plan.wave2().size(); i += 2) {
      DemoTask a = plan.wave2().get(i);
      DemoTask b = plan.wave2().get(i + 1);
      // the two runs of a pair are adjacent: same code, one off and one on
      assertThat(a.pairId()).isEqualTo(b.pairId());
      assertThat(a.faulted().code()).isEqualTo(b.faulted().code());
      assertThat(Set.of(a.arm(), b.arm()))
          .containsExactlyInAnyOrder(DemoTask.Arm.RULES_OFF, DemoTask.Arm.RULES_ON);
      firstArms.add(a.arm());
    }
    assertThat(firstArms).as("the arm that goes first alternates").hasSize(2);
    // fresh: no comparison code was already seen in wave 1
    Set<String> learnt = new HashSet<>();
    plan.wave1().forEach(t -> learnt.add(t.faulted().code()));
    assertThat(plan.wave2()).noneMatch(t -> learnt.contains(t.faulted().code()));
    assertThat(plan.wave1()).filteredOn(t -> t.fault() == Fault.MISSING_IMPORT).hasSizeGreaterThan(15);
    assertThat(plan.wave1()).filteredOn(t -> t.fault() == Fault.SLOW).hasSizeGreaterThan(10);
    assertThat(plan(100, 7).all()).extracting(t -> t.faulted().code())
        .containsExactlyElementsOf(plan.all().stream().map(t -> t.faulted().code()).toList());
  }

  @Test
  void onlyTheRulesOffArmAsksForARunWithoutRules() {
    DemoPlan plan = plan(40, 3);
    for (DemoTask t : plan.all()) {
      Map<String, String> attributes = DemoRunner.attributes(t);
      assertThat(attributes).containsEntry("demo.arm", t.arm().name());
      if (t.arm() == DemoTask.Arm.RULES_OFF) {
        assertThat(attributes).containsEntry(DemoTask.RULES_ATTRIBUTE, "off");
      } else {
        assertThat(attributes).doesNotContainKey(DemoTask.RULES_ATTRIBUTE);
      }
    }
  }

  @Test
  void apportionKeepsTheCountAndTheShares() {
    List<Fault> faults = DemoPlan.apportion(DemoPlan.COMPARE_MIX, 20);
    assertThat(faults).hasSize(20);
    assertThat(faults).filteredOn(f -> f == Fault.MISSING_IMPORT).hasSize(5);
    assertThat(faults).filteredOn(f -> f == Fault.WRONG_RESULT).hasSize(4);
  }

  @Test
  void reportComputesRatesHarmfulRulesAndRendersJsonAndHtml() throws Exception {
    DemoPlan plan = plan(40, 3);
    Map<String, TaskOutcome> outcomes = new HashMap<>();
    long t0 = 1_000_000;
    int i = 0;
    for (DemoTask t : plan.all()) {
      boolean ok = switch (t.fault()) {
        case NONE -> true;
        case MISSING_IMPORT, SLOW -> t.arm() == DemoTask.Arm.RULES_ON;
        default -> false;
      };
      long submitted = t0 + (t.wave() == 1 ? 0 : 20_000);
      outcomes.put(t.taskId(), new TaskOutcome(t.taskId(), ok ? "SUCCEEDED" : "FAILED", null,
          null, ok && t.arm() == DemoTask.Arm.RULES_ON ? List.of("r-import") : List.of(),
          submitted, submitted + 100 + 10L * (i++)));
    }
    RuleView good = new RuleView("r-import", 2, "ACTIVE", null, "ADD_MISSING_IMPORTS", Map.of(),
        0.9, "DEPENDENCY|NameError|typing", "DEPENDENCY", "NameError",
        new RuleView.Trial(5, 1.0, 0.0, 30, 40, "adopted"), t0 + 5_000, t0 + 15_000);
    RuleView bad = new RuleView("r-logic", 2, "ACTIVE", null, "PROMPT_GUIDELINE", Map.of(),
        0.9, "LOGIC|AssertionError|", "LOGIC", "AssertionError",
        new RuleView.Trial(5, 1.0, 1.0, 30, 30, "no change"), t0 + 5_000, t0 + 16_000);
    RuleView rejected = new RuleView("r-syntax", 2, "REJECTED", null, "PRE_VALIDATE_SYNTAX",
        Map.of(), 0.9, "SYNTAX|SyntaxError|", "SYNTAX", "SyntaxError", null, t0, -1);
    DemoReport report = new DemoReport(plan, outcomes,
        Map.of(good.ruleId(), good, bad.ruleId(), bad, rejected.ruleId(), rejected),
        List.of(new PatternView("DEPENDENCY|NameError|typing", 5, 0.9, t0, t0 + 30_000,
            "ADD_MISSING_IMPORTS", t0 + 4_000)),
        List.of(new DemoReport.Wave(1, "no rules", plan.wave1().size(), t0, t0 + 10_000),
            new DemoReport.Wave(2, "rules on", plan.wave2().size(), t0 + 20_000, t0 + 25_000)),
        t0, t0 + 30_000, List.of("a note"));

    JsonNode json = new ObjectMapper().readTree(report.toJson());
    assertThat(json.get("tasks_total").asInt()).isEqualTo(40);
    assertThat(json.get("fixable_error_rate_rules_off").asDouble()).isEqualTo(1.0);
    assertThat(json.get("fixable_error_rate_rules_on").asDouble()).isEqualTo(0.0);
    assertThat(json.get("unfixable_error_rate_rules_off").asDouble()).isEqualTo(1.0);
    assertThat(json.get("unfixable_error_rate_rules_on").asDouble()).isEqualTo(1.0);
    assertThat(json.get("canonical_pass_rate").asDouble()).isEqualTo(1.0);
    assertThat(json.get("duration_s").asDouble()).isEqualTo(30.0);
    assertThat(json.get("latency_ms_p50").asLong()).isPositive();
    assertThat(json.get("latency_ms_p99").asLong())
        .isGreaterThanOrEqualTo(json.get("latency_ms_p50").asLong());
    assertThat(json.get("throughput_tasks_per_s").asDouble()).isEqualTo(40 / 15.0, within());
    assertThat(json.get("rules")).hasSize(3);
    assertThat(json.get("rules").get(0).get("trial").get("error_rate_with").asDouble())
        .isEqualTo(0.0);
    assertThat(json.get("harmful_rules_adopted")).hasSize(1);
    assertThat(json.get("harmful_rules_adopted").get(0).get("rule_id").asText())
        .isEqualTo("r-logic");

    assertThat(report.toTable()).contains("MISSING_IMPORT", "ADD_MISSING_IMPORTS", "p99");
    String html = report.toHtml();
    assertThat(html).contains("<svg", "<polyline", "ADD_MISSING_IMPORTS ACTIVE")
        .doesNotContain("src=\"http", "href=\"http");
  }

  private static org.assertj.core.data.Offset<Double> within() {
    return org.assertj.core.data.Offset.offset(0.01);
  }
}
