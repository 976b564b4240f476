package io.fractalrmo.agentworkers.analyzer;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset;
import io.fractalrmo.contracts.Aspect;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One parse for the five aspects changes nothing an analyzer reports: for every program of a
 * corpus (HumanEval solutions with their tests, and programs each aspect flags), the report of
 * each aspect from {@link PythonAnalysisHelper#analyzeAspects} equals the one of its own
 * {@code analyzeProgram} call; and the five analyzers of a process share one helper request.
 */
class SharedAnalysesTest {

  static PythonAnalysisHelper helper;

  @BeforeAll
  static void start() {
    helper = new PythonAnalysisHelper();
  }

  @AfterAll
  static void stop() {
    helper.close();
  }

  record Program(String code, String tests, String entry) {
  }

  static List<Program> corpus() {
    List<Program> programs = new ArrayList<>();
    var problems = HumanEvalDataset.load();
    for (int i = 0; i < problems.size(); i += 8) {
      var p = problems.get(i);
      programs.add(new Program(p.solution(), p.test(), p.entryPoint()));
    }
    programs.add(new Program("def f(x)\n    return x\n", "def check(c):\n    assert c(1) == 1\n", "f"));
    programs.add(new Program("import os\n\ndef f():\n    return eval('1+1') + len(os.listdir('/'))\n",
        "import subprocess\ndef check(c):\n    subprocess.run(['true'])\n    assert c() > 0\n", "f"));
    programs.add(new Program("def f(xs: List[int]):\n    out = []\n    for a in xs:\n        for b in xs:\n"
        + "            if a in out:\n                out.append(b)\n    return math.sqrt(len(out))\n",
        "def check(c):\n    assert c([1]) >= 0\n", "f"));
    programs.add(new Program("import numpy_that_is_not_there\nwhile True:\n    pass\n", "", null));
    programs.add(new Program("", "def check(c):\n    import socket\n    socket.socket()\n", "f"));
    return programs;
  }

  @Test
  void shouldReportForEachAspectWhatItsOwnCallReports() {
    List<Aspect> aspects = List.of(Aspect.SYNTAX, Aspect.LOGIC, Aspect.DEPENDENCY, Aspect.SECURITY,
        Aspect.PERFORMANCE);
    for (Program p : corpus()) {
      Map<Aspect, PythonAnalysisHelper.Report> shared = helper.analyzeAspects(p.code(), p.tests(),
          p.entry(), aspects);
      for (Aspect a : aspects) {
        PythonAnalysisHelper.Report own = helper.analyzeProgram(p.code(), p.tests(), p.entry(), List.of(a));
        assertThat(shared.get(a)).as("%s of %s", a, p.code()).isEqualTo(own);
      }
    }
  }

  @Test
  void shouldAskTheHelperOnceForTheFiveAnalyzersOfATask() throws Exception {
    AtomicInteger requests = new AtomicInteger();
    var problem = HumanEvalDataset.load().get(3);
    SharedAnalyses.Engine counting = (code, tests, entry, aspects) -> {
      requests.incrementAndGet();
      return helper.analyzeAspects(code, tests, entry, aspects);
    };
    try (SharedAnalyses shared = new SharedAnalyses(EnumSet.of(Aspect.SYNTAX, Aspect.LOGIC,
        Aspect.DEPENDENCY, Aspect.SECURITY, Aspect.PERFORMANCE), List.of(counting), List.of())) {
      ExecutorService five = Executors.newFixedThreadPool(5);
      try {
        List<Future<PythonAnalysisHelper.Report>> reports = new ArrayList<>();
        for (Aspect a : List.of(Aspect.SYNTAX, Aspect.LOGIC, Aspect.DEPENDENCY, Aspect.SECURITY,
            Aspect.PERFORMANCE)) {
          reports.add(five.submit(() -> shared.analyze(a, "task-3", problem.solution(), problem.test(),
              problem.entryPoint())));
        }
        for (Future<PythonAnalysisHelper.Report> r : reports) {
          assertThat(r.get(60, TimeUnit.SECONDS).parsed()).isTrue();
        }
      } finally {
        five.shutdownNow();
      }
      assertThat(requests).hasValue(1);
      assertThat(shared.size()).as("dropped once every aspect took its report").isZero();
      // the same task id with other code is analysed again
      shared.analyze(Aspect.SYNTAX, "task-3", problem.solution() + "\n# changed\n", problem.test(),
          problem.entryPoint());
      assertThat(requests).hasValue(2);
    }
  }
}
