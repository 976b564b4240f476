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
  void onlyTheRulesOffArmAsksForARunWithoutRulesAndEveryTaskSaysWhich() {
    DemoPlan plan = plan(40, 3);
    for (DemoTask t : plan.all()) {
      Map<String, String> attributes = DemoRunner.attributes(t);
      assertThat(attributes).containsEntry("demo.arm", t.arm().name());
      // every demo task says it itself, so the live holdout never picks one by chance
      assertThat(attributes).containsEntry(DemoTask.RULES_ATTRIBUTE,
          t.arm() == DemoTask.Arm.RULES_OFF ? "off" : "on");
    }
  }

  @Test
  void theDefaultWorkloadRepeatsEachLearntFaultEnoughForAFullTrial() {
    for (long seed : new long[] {42, 7}) {
      DemoPlan plan = plan(100, seed);
      Map<String, Long> modules = new HashMap<>();
      plan.wave1().stream().filter(t -> t.fault() == Fault.MISSING_IMPORT)
          .forEach(t -> modules.merge(DemoPlan.missingModule(t.faulted()), 1L, Long::sum));
      assertThat(modules).as("seed %d: %s", seed, modules).isNotEmpty()
          .allSatisfy((m, n) -> assertThat(n).isGreaterThanOrEqualTo(DemoPlan.FAILURES_PER_PATTERN));
      for (Fault f : List.of(Fault.SLOW, Fault.SYNTAX_SLIP, Fault.NONE)) {
        assertThat(plan.wave1()).filteredOn(t -> t.fault() == f)
            .hasSizeGreaterThanOrEqualTo(DemoPlan.FAILURES_PER_PATTERN);
      }
      // wave 2 compares only modules learnt in wave 1
      assertThat(plan.wave2()).filteredOn(t -> t.fault() == Fault.MISSING_IMPORT)
          .allMatch(t -> modules.containsKey(DemoPlan.missingModule(t.faulted())));
    }
  }

  @Test
  void theHardWorkloadSpreadsImportsAndMakesSlowSolutionsTooSlowForADoubledLimit() {
    DemoPlan plan = DemoPlan.build(problems, Workload.HARD.injector(42, 1_000), 100, 42, "run",
        Workload.HARD);
    Map<String, Long> modules = new HashMap<>();
    plan.wave1().stream().filter(t -> t.fault() == Fault.MISSING_IMPORT)
        .forEach(t -> modules.merge(DemoPlan.missingModule(t.faulted()), 1L, Long::sum));
    assertThat(modules.size()).isGreaterThan(3);
    assertThat(plan.wave1()).filteredOn(t -> t.fault() == Fault.SYNTAX_SLIP).hasSize(15);
    assertThat(plan.workload()).isEqualTo(Workload.HARD);
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
    RuleView good = rule("r-import", "ACTIVE", "ADD_MISSING_IMPORTS", "DEPENDENCY",
        trial(5, 5, 0, 5, 0, "ADOPTED"), new RuleView.Counters(4, 4, 0), t0 + 15_000);
    // adopted, but its trial's guard arm failed: harmful whatever the adoption said
    RuleView guardHurt = rule("r-timeout", "ACTIVE", "INCREASE_TIMEOUT", "PERFORMANCE",
        trial(5, 5, 0, 5, 1, "ADOPTED"), RuleView.Counters.NONE, t0 + 16_000);
    // adopted, then hurt more live actions than it helped
    RuleView hurts = rule("r-logic", "ACTIVE", "PROMPT_GUIDELINE", "LOGIC",
        trial(5, 5, 1, 5, 0, "ADOPTED"), new RuleView.Counters(3, 0, 3), t0 + 16_000);
    RuleView rejected = rule("r-syntax", "REJECTED", "PRE_VALIDATE_SYNTAX", "SYNTAX",
        trial(3, 3, 3, 3, 0, "NO_COST_SAVING"), RuleView.Counters.NONE, -1);
    DemoReport report = new DemoReport(plan, outcomes,
        Map.of(good.ruleId(), good, guardHurt.ruleId(), guardHurt, hurts.ruleId(), hurts,
            rejected.ruleId(), rejected),
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
    assertThat(json.get("rules")).hasSize(4);
    JsonNode first = json.get("rules").get(0);
    assertThat(first.get("trial").get("error_rate_with").asDouble()).isEqualTo(0.0);
    assertThat(first.get("trial").get("guard").get("actions").asInt()).isEqualTo(5);
    assertThat(first.get("counters").get("times_helped").asLong()).isEqualTo(4);
    assertThat(first.get("first_failure_to_active_s").asDouble()).isEqualTo(9.0);
    Map<String, String> harmful = report.harmfulRules();
    assertThat(harmful).containsOnlyKeys("r-timeout", "r-logic");
    assertThat(harmful.get("r-timeout")).contains("GUARD arm failed 1/5");
    assertThat(harmful.get("r-logic")).contains("hurt 3, helped 0");
    assertThat(json.get("harmful_rules_adopted")).hasSize(2);
    assertThat(report.costSavingLine()).startsWith("none adopted: PRE_VALIDATE_SYNTAX");
    assertThat(report.unmetExpectations()).anyMatch(u -> u.startsWith("no cost-saving rule"))
        .anyMatch(u -> u.startsWith("harmful rules adopted"));

    assertThat(report.toTable()).contains("MISSING_IMPORT", "ADD_MISSING_IMPORTS", "p99");
    String html = report.toHtml();
    assertThat(html).contains("<svg", "<polyline", "ADD_MISSING_IMPORTS ACTIVE")
        .doesNotContain("src=\"http", "href=\"http");
  }

  private static RuleView.Trial trial(int nc, int fc, int ft, int nt, int fg, String decision) {
    return new RuleView.Trial(nc, fc, nt, ft, 5, fg, 30, 40, 12, 0.004, 0.05, "Fisher",
        "fewer failures", decision, decision.toLowerCase() + ": figures", 1_010_000);
  }

  private static RuleView rule(String id, String status, String action, String category,
      RuleView.Trial trial, RuleView.Counters counters, long activatedAt) {
    return new RuleView(id, 2, status, null, action, Map.of(), 0.9, category + "|X|", category,
        "X", trial, counters, null, 1_001_000, 1_005_000, activatedAt);
  }

  private static org.assertj.core.data.Offset<Double> within() {
    return org.assertj.core.data.Offset.offset(0.01);
  }
}
