package io.fractalrmo.agentworkers.analyzer;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.worker.Outgoing;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A corpus of tricky cases per aspect: what each analyzer must find (with its line) and — just as
 * important — what it must not flag.
 */
class AnalyzerCorpusTest {

  static PythonAnalysisHelper helper;
  static final TopicCatalog catalog = TopicCatalog.withPrefix("t-an.");

  @BeforeAll
  static void start() {
    helper = new PythonAnalysisHelper();
  }

  @AfterAll
  static void stop() {
    helper.close();
  }

  /** aspect, name, code, expected finding "TYPE@line" (or "-" for none), whether blocking expected. */
  static Stream<Arguments> corpus() {
    return Stream.of(
        // ---- SYNTAX
        c(Aspect.SYNTAX, "missing colon", "def f(x)\n    return x\n", "SYNTAX_ERROR@1", true),
        c(Aspect.SYNTAX, "bad indentation", "def f(x):\nreturn x\n", "INDENTATION_ERROR@2", true),
        c(Aspect.SYNTAX, "unclosed bracket later", "x = 1\ny = [1, 2\nz = 3\n", "SYNTAX_ERROR@2", true),
        c(Aspect.SYNTAX, "valid walrus and match", "if (n := 3) > 2:\n    match n:\n        case 3:\n            pass\n", "-", false),
        c(Aspect.SYNTAX, "is with a literal warns", "x = 1\nif x is 1:\n    pass\n", "SYNTAX_WARNING@2", false),
        // ---- LOGIC
        c(Aspect.LOGIC, "while True without exit", "i = 0\nwhile True:\n    i += 1\n", "UNBOUNDED_LOOP@2", false),
        c(Aspect.LOGIC, "break only leaves inner loop", "while True:\n    for x in range(3):\n        break\n", "UNBOUNDED_LOOP@1", false),
        c(Aspect.LOGIC, "while True with break is fine", "i = 0\nwhile True:\n    i += 1\n    if i > 3:\n        break\n", "-", false),
        c(Aspect.LOGIC, "while True returning is fine", "def f():\n    while True:\n        return 1\n", "-", false),
        c(Aspect.LOGIC, "generator loop is fine", "def gen():\n    while True:\n        yield 1\n", "-", false),
        c(Aspect.LOGIC, "not every path returns", "def sign(x):\n    if x > 0:\n        return 1\n    elif x < 0:\n        return -1\n", "MISSING_RETURN@1", false),
        c(Aspect.LOGIC, "if/else both return", "def sign(x):\n    if x > 0:\n        return 1\n    else:\n        return -1\n", "-", false),
        c(Aspect.LOGIC, "try returns, except raises", "def f(x):\n    try:\n        return int(x)\n    except ValueError:\n        raise\n", "-", false),
        c(Aspect.LOGIC, "procedure returns nothing", "def log(x):\n    if x:\n        return\n    print(x)\n", "-", false),
        c(Aspect.LOGIC, "discarded sorted()", "xs = [3, 1]\nsorted(xs)\nprint(xs)\n", "UNUSED_RESULT@2", false),
        c(Aspect.LOGIC, "discarded str.strip()", "s = ' a '\ns.strip()\n", "UNUSED_RESULT@2", false),
        c(Aspect.LOGIC, "list.sort() is in place", "xs = [3, 1]\nxs.sort()\nxs.append(2)\n", "-", false),
        // ---- DEPENDENCY
        c(Aspect.DEPENDENCY, "List without typing import", "def f(xs: List[int]) -> int:\n    return len(xs)\n", "MISSING_IMPORT@1", false),
        c(Aspect.DEPENDENCY, "math.sqrt without import math", "def f(x):\n    return math.sqrt(x)\n", "MISSING_IMPORT@2", false),
        c(Aspect.DEPENDENCY, "module that does not exist", "import numpyy_not_installed\n", "UNRESOLVED_IMPORT@1", false),
        c(Aspect.DEPENDENCY, "name missing from a stdlib module", "from collections import OrderedDictt\n", "IMPORT_NAME_NOT_FOUND@1", false),
        c(Aspect.DEPENDENCY, "imported inside the function is fine", "def f(x):\n    import math\n    return math.sqrt(x)\n", "-", false),
        c(Aspect.DEPENDENCY, "aliased import is fine", "import math as m\nfrom typing import List as L\nx: L[int] = [int(m.pi)]\n", "-", false),
        c(Aspect.DEPENDENCY, "local variable named like a module", "def f():\n    math = 3\n    return math\n", "-", false),
        c(Aspect.DEPENDENCY, "global assigned later in the module", "def f():\n    return CONST\nCONST = 3\n", "-", false),
        c(Aspect.DEPENDENCY, "typo'd name", "def f(result):\n    return resutl\n", "UNDEFINED_NAME@2", false),
        // ---- SECURITY
        // eval/exec and writes outside the work dir are found, but only recorded or alerted when the
        // sandbox confines the code (FindingPolicy): the blocking flag is the policy's
        c(Aspect.SECURITY, "eval", "x = eval(input())\n", "EVAL_CALL@1", false),
        c(Aspect.SECURITY, "exec", "exec('print(1)')\n", "EXEC_CALL@1", false),
        c(Aspect.SECURITY, "os.system via alias", "import os as o\no.system('rm -rf /')\n", "OS_COMMAND@2", true),
        c(Aspect.SECURITY, "from subprocess import run", "from subprocess import run\nrun(['ls'])\n", "SUBPROCESS@2", true),
        c(Aspect.SECURITY, "socket", "import socket\ns = socket.socket()\n", "NETWORK_ACCESS@2", true),
        c(Aspect.SECURITY, "write outside the work dir", "with open('/etc/cron.d/x', 'w') as f:\n    f.write('x')\n", "FILE_WRITE_OUTSIDE_WORKDIR@1", false),
        c(Aspect.SECURITY, "parent directory write", "open('../escape.txt', mode='a').write('x')\n", "FILE_WRITE_OUTSIDE_WORKDIR@1", false),
        c(Aspect.SECURITY, "ctypes", "import ctypes\nctypes.CDLL(None).getpid()\n", "NATIVE_CODE@2", true),
        c(Aspect.SECURITY, "hard-coded password", "db_password = 'S3cr3t!pass'\n", "HARDCODED_SECRET@1", false),
        c(Aspect.SECURITY, "aws key literal", "KEY = 'AKIAIOSFODNN7EXAMPLE'\n", "HARDCODED_SECRET@1", false),
        c(Aspect.SECURITY, "model.eval() is not eval", "class M:\n    def eval(self):\n        return 1\nm = M()\nm.eval()\n", "-", false),
        c(Aspect.SECURITY, "user function named exec", "def exec(x):\n    return x\nexec(3)\n", "-", false),
        c(Aspect.SECURITY, "the word in a string or docstring", "def f():\n    '''calls os.system and eval'''\n    return 'eval(x)'\n", "-", false),
        c(Aspect.SECURITY, "reading a file and relative writes", "open('/etc/hostname').read()\nopen('out.txt', 'w').write('x')\n", "-", false),
        c(Aspect.SECURITY, "password placeholder", "password = ''\ntoken = None\nsecret = 'changeme'\n", "-", false),
        c(Aspect.SECURITY, "literal_eval and re.compile", "import ast, re\nast.literal_eval('1')\nre.compile('x')\n", "-", false),
        // ---- PERFORMANCE
        c(Aspect.PERFORMANCE, "nested loops over the same list", "def f(xs):\n    for a in xs:\n        for b in xs:\n            print(a, b)\n", "NESTED_LOOP_SAME_SEQUENCE@3", false),
        c(Aspect.PERFORMANCE, "index ranges over the same list", "def f(xs):\n    for i in range(len(xs)):\n        for j in range(i + 1, len(xs)):\n            pass\n", "NESTED_LOOP_SAME_SEQUENCE@3", false),
        c(Aspect.PERFORMANCE, "in list inside a loop", "def f(xs):\n    seen = []\n    for x in xs:\n        if x not in seen:\n            seen.append(x)\n", "LIST_MEMBERSHIP_IN_LOOP@4", false),
        c(Aspect.PERFORMANCE, "list.index inside a loop", "def f(xs, ys):\n    order = list(ys)\n    for x in xs:\n        print(order.index(x))\n", "LIST_SEARCH_IN_LOOP@4", false),
        c(Aspect.PERFORMANCE, "different sequences are fine", "def f(xs, ys):\n    for a in xs:\n        for b in ys:\n            pass\n", "-", false),
        c(Aspect.PERFORMANCE, "set membership is fine", "def f(xs):\n    seen = set()\n    for x in xs:\n        if x in seen:\n            pass\n        seen.add(x)\n", "-", false),
        c(Aspect.PERFORMANCE, "in list outside a loop is fine", "xs = [1, 2]\nprint(3 in xs)\n", "-", false),
        c(Aspect.PERFORMANCE, "pop(0) in a loop", "q = [1, 2, 3]\nwhile q:\n    q.pop(0)\n", "LIST_FRONT_OPERATION_IN_LOOP@3", false)
    );
  }

  private static Arguments c(Aspect aspect, String name, String code, String expected, boolean blocking) {
    return Arguments.of(aspect, name, code, expected, blocking);
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("corpus")
  void shouldFindWhatMattersAndNothingElse(Aspect aspect, String name, String code, String expected, boolean blocking) {
    AspectAnalyzer analyzer = new AspectAnalyzer(aspect, "analyzer-" + aspect, catalog, helper, Clock.systemUTC());
    List<Outgoing> out = analyzer.handle("t1", task(code));
    assertThat(out).hasSize(1);
    assertThat(out.get(0).topic()).isEqualTo(catalog.analyses().name());
    AspectAnalysis a = (AspectAnalysis) out.get(0).value();
    assertThat(a.getAspect()).isEqualTo(aspect);
    assertThat(a.getError()).isNull();
    List<Finding> issues = a.getIssues().stream().filter(f -> f.getSeverity().ordinal() >= 1).toList();
    if (expected.equals("-")) {
      assertThat(issues).as("false positives for %s", name).isEmpty();
      return;
    }
    String[] parts = expected.split("@");
    assertThat(issues).as("findings for %s", name)
        .anySatisfy(f -> {
          assertThat(f.getType()).isEqualTo(parts[0]);
          assertThat(f.getLine()).isEqualTo(Integer.parseInt(parts[1]));
          assertThat(f.getAspect()).isEqualTo(aspect);
          assertThat(f.getBlocking()).isEqualTo(blocking);
          assertThat(f.getDescription()).hasSizeGreaterThan(20);
        });
  }

  @Test
  void shouldProposeBlockingForSecurityAndGenerationForMissingCode() {
    AspectAnalyzer security = new AspectAnalyzer(Aspect.SECURITY, "sec", catalog, helper, Clock.systemUTC());
    AspectAnalysis a = (AspectAnalysis) security.handle("t", task("import os\nos.system('id')\n")).get(0).value();
    assertThat(a.getProposedActions()).containsExactly(ActionType.BLOCK);
    assertThat(a.getRecommendations()).isNotEmpty();
    Task noCode = Task.newBuilder(task("x")).setCode(null).build();
    AspectAnalysis g = (AspectAnalysis) security.handle("t", noCode).get(0).value();
    assertThat(g.getProposedActions()).containsExactly(ActionType.GENERATE_CODE);
  }

  @Test
  void shouldAnalyseTheTestsAndTheProgramTheyMakeWithTheSolution() {
    AspectAnalyzer security = new AspectAnalyzer(Aspect.SECURITY, "sec", catalog, helper, Clock.systemUTC());
    // a forbidden call only in the tests: blocked like one in the solution
    Task inTests = Task.newBuilder(task("def f(x):\n    return x\n"))
        .setTestCode("import os\nos.system('id')\ndef check(c):\n    assert c(1) == 1\n").setEntryPoint("f").build();
    AspectAnalysis a = (AspectAnalysis) security.handle("t", inTests).get(0).value();
    assertThat(a.getIssues()).anySatisfy(f -> {
      assertThat(f.getType()).isEqualTo("OS_COMMAND");
      assertThat(f.getLine()).isEqualTo(2);
      assertThat(f.getBlocking()).isTrue();
      assertThat(f.getDescription()).contains("of the test code");
    });
    assertThat(a.getProposedActions()).containsExactly(ActionType.BLOCK);

    // neither part alone calls os.system: the solution calls o.system, the tests import os as o
    Task split = Task.newBuilder(task("def f(x):\n    return o.system(x)\n"))
        .setTestCode("import os as o\ndef check(c):\n    c('true')\n").setEntryPoint("f").build();
    AspectAnalysis s = (AspectAnalysis) security.handle("t", split).get(0).value();
    assertThat(s.getIssues()).anySatisfy(f -> {
      assertThat(f.getType()).isEqualTo("OS_COMMAND");
      assertThat(f.getLine()).isEqualTo(2);
      assertThat(f.getDescription()).contains("of the solution (as run with the test code)");
    });

    // generated code: the tests are still analysed
    Task generate = Task.newBuilder(inTests).setCode(null).build();
    AspectAnalysis g = (AspectAnalysis) security.handle("t", generate).get(0).value();
    assertThat(g.getProposedActions()).containsExactly(ActionType.BLOCK);

    // a missing import in the tests is a DEPENDENCY finding of the tests
    AspectAnalyzer dependency = new AspectAnalyzer(Aspect.DEPENDENCY, "dep", catalog, helper, Clock.systemUTC());
    Task math = Task.newBuilder(task("def f(x):\n    return x\n"))
        .setTestCode("def check(c):\n    assert c(2) == math.floor(2.5)\n").setEntryPoint("f").build();
    AspectAnalysis d = (AspectAnalysis) dependency.handle("t", math).get(0).value();
    assertThat(d.getIssues()).singleElement().satisfies(f -> {
      assertThat(f.getType()).isEqualTo("MISSING_IMPORT");
      assertThat(f.getLine()).isEqualTo(2);
    });
  }

  @Test
  void shouldNotAnalyseCodeOverTheSizeLimit() {
    AspectAnalyzer logic = new AspectAnalyzer(Aspect.LOGIC, "logic", catalog, helper, Clock.systemUTC(),
        io.fractalrmo.contracts.InputLimits.fromSettings(Map.of("limits.max-code-bytes", "100")));
    AspectAnalysis a = (AspectAnalysis) logic.handle("t", task("while True:\n    pass\n" + "#".repeat(200))).get(0).value();
    assertThat(a.getIssues()).isEmpty();
    assertThat(a.getConfidence()).isZero();
    assertThat(a.getRecommendations()).singleElement().asString().contains("limits.max-code-bytes");
  }

  @Test
  void shouldBoundFindingsOfHostileCode() {
    AspectAnalyzer security = new AspectAnalyzer(Aspect.SECURITY, "sec", catalog, helper, Clock.systemUTC());
    // 80 writes to a 600-character path: within the size limit, more findings than a record keeps
    String path = "/" + "x".repeat(600);
    String code = ("open('" + path + "', 'w')\n").repeat(80);
    AspectAnalysis a = (AspectAnalysis) security.handle("t", task(code)).get(0).value();
    assertThat(a.getIssues()).hasSize(io.fractalrmo.contracts.Bounded.MAX_FINDINGS);
    assertThat(a.getIssues().get(a.getIssues().size() - 1).getType())
        .isEqualTo(io.fractalrmo.contracts.Bounded.FINDINGS_TRUNCATED);
    assertThat(a.getIssues()).allSatisfy(f -> assertThat(f.getDescription())
        .hasSizeLessThanOrEqualTo(io.fractalrmo.contracts.Bounded.FINDING_DESCRIPTION_CHARS));
  }

  static Task task(String code) {
    return Task.newBuilder().setTaskId("t-" + code.hashCode()).setCode(code).setSubmittedAt(Instant.now())
        .setAttributes(Map.of()).build();
  }
}
