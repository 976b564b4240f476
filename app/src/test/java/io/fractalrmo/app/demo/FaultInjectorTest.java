package io.fractalrmo.app.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every injected fault checked with the real interpreter against HumanEval's own tests. */
class FaultInjectorTest {

  private static final Duration GENEROUS = Duration.ofSeconds(20);
  private static List<Problem> problems;
  private final FaultInjector injector = new FaultInjector(42, 1_000);

  @BeforeAll
  static void load() {
    problems = HumanEvalProblems.load();
  }

  @Test
  void shouldLoadAll164Problems() {
    assertThat(problems).hasSize(164);
    assertThat(problems.get(0).id()).isEqualTo("HumanEval/0");
  }

  @Test
  void shouldBeDeterministicForASeedAndIndependentOfOrder() {
    FaultInjector again = new FaultInjector(42, 1_000);
    for (Fault fault : Fault.values()) {
      List<Problem> reversed = new ArrayList<>(problems);
      java.util.Collections.reverse(reversed);
      for (Problem p : reversed) {
        assertThat(again.inject(p, fault).map(FaultedCode::code))
            .isEqualTo(injector.inject(p, fault).map(FaultedCode::code));
      }
    }
  }

  @Test
  void canonicalSolutionsPass() throws Exception {
    List<Python.Run> runs = runAll(Fault.NONE, GENEROUS);
    assertThat(runs).hasSize(164).allSatisfy(r -> assertThat(r.passed())
        .as("canonical fails: %s", r.stderr()).isTrue());
  }

  @Test
  void missingImportRaisesNameErrorWhereItApplies() throws Exception {
    List<Python.Run> runs = runAll(Fault.MISSING_IMPORT, GENEROUS);
    assertThat(runs).hasSizeGreaterThanOrEqualTo(25);
    assertThat(runs).allSatisfy(r -> assertThat(r.lastErrorLine()).startsWith("NameError: name"));
  }

  @Test
  void missingImportDropsTypingOrAModuleTheCodeUses() {
    Problem hasClose = problems.get(0);
    FaultedCode faulted = injector.inject(hasClose, Fault.MISSING_IMPORT).orElseThrow();
    assertThat(faulted.code()).doesNotContain("from typing import List")
        .contains("List[float]");
    assertThat(injector.applies(problems.get(2), Fault.MISSING_IMPORT)).isFalse();
    long modules = problems.stream()
        .map(p -> injector.inject(p, Fault.MISSING_IMPORT))
        .flatMap(Optional::stream)
        .filter(f -> f.detail().contains("'import ")).count();
    assertThat(modules).as("math/re/collections/hashlib drops").isGreaterThanOrEqualTo(4);
  }

  @Test
  void wrongResultFailsTheTestsWithAnAssertionError() throws Exception {
    List<Python.Run> runs = runAll(Fault.WRONG_RESULT, GENEROUS);
    assertThat(runs).hasSize(FaultInjector.WRONG_RESULT_VERIFIED.size());
    assertThat(runs).allSatisfy(r ->
        assertThat(r.lastErrorLine()).as(r.stderr()).startsWith("AssertionError"));
  }

  @Test
  void syntaxSlipDoesNotCompile() throws Exception {
    List<Python.Run> runs = runAll(Fault.SYNTAX_SLIP, GENEROUS);
    assertThat(runs).hasSize(164);
    assertThat(runs).allSatisfy(r ->
        assertThat(r.lastErrorLine()).as(r.stderr()).startsWith("SyntaxError"));
  }

  @Test
  void slowSolutionExceedsItsLimitButPassesWithThreeTimesIt() throws Exception {
    // a 1 s limit: the delay (1.3-1.6 x) leaves 1.4 s of the tripled limit for python's start-up
    // and the tests, enough on a loaded machine (400 ms left too little there)
    FaultInjector fast = new FaultInjector(7, 1_000);
    for (Problem p : List.of(problems.get(0), problems.get(13), problems.get(55))) {
      FaultedCode slow = fast.inject(p, Fault.SLOW).orElseThrow();
      Python.Run limited = Python.run(Python.program(slow), Duration.ofMillis(1_000));
      assertThat(limited.timedOut()).as("%s within its limit", p.id()).isTrue();
      Python.Run tripled = Python.run(Python.program(slow), Duration.ofMillis(3_000));
      assertThat(tripled.passed()).as("%s with 3x: %s", p.id(), tripled.stderr()).isTrue();
      assertThat(tripled.millis()).isGreaterThan(1_000);
    }
  }

  @Test
  void slowDelayStaysBetweenItsBoundsOfTheLimit() {
    for (Problem p : problems) {
      String detail = injector.inject(p, Fault.SLOW).orElseThrow().detail();
      double factor = Double.parseDouble(detail.replaceAll(".*\\(([0-9.]+) x.*", "$1"));
      assertThat(factor).isBetween(1.3, 1.6);
    }
  }

  @Test
  void forbiddenCallInsertsAShellSubprocessOrSocketCallThatStillCompiles() throws Exception {
    List<String> seen = new ArrayList<>();
    for (Problem p : problems) {
      FaultedCode faulted = injector.inject(p, Fault.FORBIDDEN_CALL).orElseThrow();
      seen.add(faulted.detail());
      assertThat(faulted.code()).containsAnyOf("os.system(", "subprocess.run(",
          "socket.create_connection(");
    }
    assertThat(seen).contains("inserted os.system", "inserted subprocess.run",
        "inserted socket connect");
    // compiles (the fault is the call, not the syntax)
    FaultedCode one = injector.inject(problems.get(3), Fault.FORBIDDEN_CALL).orElseThrow();
    String compileOnly = "compile(" + pyString(one.code()) + ", 'main.py', 'exec')\n";
    assertThat(Python.run(compileOnly, GENEROUS).passed()).isTrue();
  }

  private static String pyString(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'";
  }

  private List<Python.Run> runAll(Fault fault, Duration limit) throws Exception {
    List<String> programs = new ArrayList<>();
    for (Problem p : problems) {
      injector.inject(p, fault).ifPresent(f -> programs.add(Python.program(f)));
    }
    return Python.runBatch(programs, Duration.ofSeconds(60));
  }
}
