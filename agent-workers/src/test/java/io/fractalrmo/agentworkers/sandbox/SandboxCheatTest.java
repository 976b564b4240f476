package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset;
import io.fractalrmo.agentworkers.humaneval.HumanEvalDataset.Problem;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A wrong solution cannot make the sandbox report success by ending early or by forging the
 * harness's report: each variant below fails (with incomplete evidence), while the honest solution
 * to the same problem (HumanEval/0 with its own tests) succeeds. The tests run in a process of their
 * own, which alone holds the report channel; the solution runs in another and is reached through
 * proxies, so what the solution does to its own process (take the harness's reporter, exit, die,
 * kill its parent, write to every descriptor, return an object that equals everything) cannot
 * read as success. This is the sandbox's half of the cheat suite; the pipeline's half runs the
 * same tricks through the executor and validator.
 */
class SandboxCheatTest {

  private static PythonSandbox sandbox;
  private static Problem problem;
  private static String wrong;

  @BeforeAll
  static void start() {
    sandbox = PythonSandbox.create(new PythonSandbox.Options(2, true));
    problem = HumanEvalDataset.load().get(0);
    wrong = problem.prompt() + "    return True\n";
  }

  @AfterAll
  static void stop() {
    sandbox.close();
  }

  private static SandboxResult runWithTests(String solution) {
    return sandbox.run(Program.withTests(solution, problem.test(), problem.entryPoint()),
        SandboxLimits.defaults());
  }

  @Test
  void shouldPassTheHonestSolution() {
    SandboxResult r = runWithTests(problem.solution());
    assertThat(r.success()).as("%s", r.error()).isTrue();
    assertThat(r.evidence()).isEqualTo(new Evidence(true, true, true, null));
  }

  @Test
  void shouldFailTheWrongSolutionInItsTests() {
    SandboxResult r = runWithTests(wrong);
    assertThat(r.success()).isFalse();
    assertThat(r.error().type()).isEqualTo("AssertionError");
    assertThat(r.evidence()).isEqualTo(new Evidence(true, true, false, Evidence.Phase.TESTS));
    assertThat(r.error().traceback()).contains("tests.py").doesNotContain("launcher");
  }

  static Stream<Arguments> cheats() {
    String forgeAll = "import os, json\nfor fd in range(3, 256):\n    for seq in range(1, 4):\n"
        + "        for ev in ('confined', 'solution_done', 'tests_done'):\n            try:\n"
        + "                os.write(fd, json.dumps({'event': ev, 'seq': seq, 'nonce': '00' * 16, "
        + "'layers': [], 'last': True, 'check_called': True}).encode())\n"
        + "            except OSError:\n                pass\nos._exit(0)\n";
    return Stream.of(
        Arguments.of("sys.exit(0) at module level", "\nimport sys\nsys.exit(0)\n"),
        Arguments.of("the harness's reporter taken from the calling frame",
            "\nimport sys, os\nf = sys._getframe(1)\nwhile f is not None and 'report' not in f.f_locals:\n"
                + "    f = f.f_back\nr = f.f_locals['report']\nr('solution_done', last=False)\n"
                + "r('tests_done', check_called=True)\nos._exit(0)\n"),
        Arguments.of("the harness's reporter found by the garbage collector",
            "\nimport gc, os\nfor o in gc.get_objects():\n"
                + "    if getattr(o, '__name__', None) == 'report' and getattr(o, '__closure__', None):\n"
                + "        o('solution_done', last=False)\n        o('tests_done', check_called=True)\n"
                + "os._exit(0)\n"),
        Arguments.of("os._exit(0) at module level", "\nimport os\nos._exit(0)\n"),
        Arguments.of("the parent (the tests' process) killed at import",
            "\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos._exit(0)\n"),
        Arguments.of("the whole process group killed at import",
            "\nimport os, signal\nos.kill(0, signal.SIGKILL)\n"),
        Arguments.of("the tests' process read through /proc at import",
            "\nimport os\nopen('/proc/%d/mem' % os.getppid(), 'rb').close()\n"),

        Arguments.of("raise SystemExit at module level", "\nraise SystemExit\n"),
        Arguments.of("a thread calls os._exit(0) while the tests run",
            "\nimport threading, os, time\ndef k():\n    time.sleep(0.001)\n    os._exit(0)\n"
                + "threading.Thread(target=k).start()\n"),
        Arguments.of("self-SIGKILL", "\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"),
        Arguments.of("self-SIGTERM", "\nimport os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n"),
        Arguments.of("os.closerange of every inherited descriptor", "\nimport os\nos.closerange(3, 4096)\n"),
        Arguments.of("forged reports written to every descriptor", "\n" + forgeAll),
        Arguments.of("a fake result printed on stdout and stderr",
            "\nimport os, sys\nfake = '{\"exit_code\": 0, \"timed_out\": false, \"error\": null, "
                + "\"evidence\": {\"solution_completed\": true, \"tests_completed\": true}}'\n"
                + "print(fake, flush=True)\nprint(fake, file=sys.stderr, flush=True)\nos._exit(0)\n"),
        Arguments.of("a fork whose parent exits early", "\nimport os\nif os.fork():\n    os._exit(0)\n"),
        Arguments.of("atexit handler, then sys.exit(0)",
            "\nimport atexit, sys, os\natexit.register(lambda: os._exit(0))\nsys.exit(0)\n"),
        Arguments.of("check replaced by a thread", "\nimport threading\ndef swap():\n    while True:\n"
            + "        globals()['check'] = lambda candidate: None\n"
            + "threading.Thread(target=swap, daemon=True).start()\n"),
        Arguments.of("check deleted by a thread", "\nimport threading\ndef rm():\n    while True:\n"
            + "        globals().pop('check', None)\nthreading.Thread(target=rm, daemon=True).start()\n"),
        Arguments.of("check's code swapped by a thread", "\nimport threading\ndef swap():\n"
            + "    while True:\n        c = globals().get('check')\n        if c is not None:\n"
            + "            c.__code__ = (lambda candidate: None).__code__\n"
            + "threading.Thread(target=swap, daemon=True).start()\n"),
        Arguments.of("builtins patched for the tests", "\nimport builtins\n"
            + "builtins.AssertionError = type('Nope', (Exception,), {})\n"
            + "builtins.isinstance = lambda *a: True\n"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cheats")
  void shouldNotLetAWrongSolutionPassBy(String name, String trick) {
    SandboxResult r = runWithTests(wrong + trick);
    assertThat(r.success()).as("%s: %s", name, r.error()).isFalse();
    assertThat(r.evidence().complete()).isFalse();
    assertThat(r.error()).isNotNull();
  }

  static Stream<Arguments> earlyExitsOfAFunctionUnderTest() {
    return Stream.of(
        Arguments.of("raise SystemExit(0)", "    raise SystemExit(0)\n"),
        Arguments.of("sys.exit()", "    import sys\n    sys.exit()\n"),
        Arguments.of("os._exit(0)", "    import os\n    os._exit(0)\n"),
        Arguments.of("KeyboardInterrupt", "    raise KeyboardInterrupt\n"),
        Arguments.of("a value whose __eq__ is always True",
            "    class Yes:\n        def __eq__(self, other):\n            return True\n"
                + "    return Yes()\n"),
        Arguments.of("a generator", "    yield True\n"));
  }

  @ParameterizedTest(name = "{0} inside the function under test")
  @MethodSource("earlyExitsOfAFunctionUnderTest")
  void shouldNotPassAFunctionThatEndsTheProcess(String name, String body) {
    SandboxResult r = runWithTests(problem.prompt() + body);
    assertThat(r.success()).as("%s: %s", name, r.error()).isFalse();
    assertThat(r.evidence().solutionCompleted()).isTrue();
    assertThat(r.evidence().testsCompleted()).isFalse();
  }

  static Stream<Arguments> honestAnswersWithATrick() {
    return Stream.of(
        Arguments.of("kills its parent (the tests' process) on its third call",
            "    import os\n    global calls\n    calls = globals().get('calls', 0) + 1\n"
                + "    if calls == 3:\n        os.kill(os.getppid(), 9)\n"),
        Arguments.of("kills its whole process group on its third call",
            "    import os\n    global calls\n    calls = globals().get('calls', 0) + 1\n"
                + "    if calls == 3:\n        os.kill(0, 9)\n"),
        Arguments.of("ends its process with os._exit(0) on its third call",
            "    import os\n    global calls\n    calls = globals().get('calls', 0) + 1\n"
                + "    if calls == 3:\n        os._exit(0)\n"),
        Arguments.of("calls the harness's reporter from its frames, then os._exit(0)",
            "    import sys, os\n    f = sys._getframe()\n"
                + "    while f is not None and 'report' not in f.f_locals:\n        f = f.f_back\n"
                + "    if f is not None:\n        r = f.f_locals['report']\n"
                + "        r('solution_done', last=False)\n        r('tests_done', check_called=True)\n"
                + "    os._exit(0)\n"),
        Arguments.of("writes forged reports to every descriptor, then os._exit(0)",
            "    import os, json\n    for fd in range(256):\n        for seq in range(1, 4):\n"
                + "            try:\n                os.write(fd, json.dumps({'event': 'tests_done', "
                + "'seq': seq, 'nonce': '00' * 16, 'check_called': True}).encode())\n"
                + "            except OSError:\n                pass\n    os._exit(0)\n"));
  }

  @ParameterizedTest(name = "a function that answers right but {0}")
  @MethodSource("honestAnswersWithATrick")
  void shouldNotPassAnHonestFunctionWhoseProcessEndsOrAttacksTheTests(String name, String trick) {
    SandboxResult r = runWithTests(problem.prompt() + trick + problem.canonicalSolution());
    assertThat(r.success()).as("%s: %s", name, r.error()).isFalse();
    assertThat(r.evidence().solutionCompleted()).isTrue();
    assertThat(r.evidence().testsCompleted()).isFalse();
    assertThat(r.evidence().failedIn()).isEqualTo(Evidence.Phase.TESTS);
  }

  @Test
  void shouldNotPassWhenTheTestsCatchWhatTheEndOfTheSolutionsProcessRaised() {
    SandboxResult r = sandbox.run(Program.withTests("def f():\n    import os\n    os._exit(0)\n",
        "def check(candidate):\n    try:\n        candidate()\n    except BaseException:\n"
            + "        pass\n", "f"), SandboxLimits.defaults());
    assertThat(r.success()).as("%s", r.error()).isFalse();
    assertThat(r.error().type()).isEqualTo("SolutionProcessEnded");
    assertThat(r.evidence().testsCompleted()).isFalse();
  }

  @Test
  void shouldCarryEveryPlainValueAcrossToTheTestsExactly() {
    String solution = "import collections\ndef f(x):\n"
        + "    return (None, True, 0, -2**200, 1.5, -0.0, float('inf'), float('nan'), 2-3j, 'é\\x00',"
        + " b'\\xff', [1, [2]], (3,), {4}, frozenset({5}), {(1, 'a'): [None]},"
        + " collections.OrderedDict(a=1), x)\n";
    String tests = "import math\ndef check(candidate):\n    arg = {'k': (1, 2.5, b'z', frozenset({1}))}\n"
        + "    v = candidate(arg)\n    assert type(v) is tuple and len(v) == 18\n"
        + "    assert v[0] is None and v[1] is True and v[2] == 0 and type(v[2]) is int\n"
        + "    assert v[3] == -2**200 and v[4] == 1.5 and math.copysign(1, v[5]) == -1\n"
        + "    assert v[6] == float('inf') and math.isnan(v[7]) and v[8] == 2-3j\n"
        + "    assert v[9] == 'é\\x00' and v[10] == b'\\xff' and v[11] == [1, [2]] and v[12] == (3,)\n"
        + "    assert v[13] == {4} and type(v[14]) is frozenset and v[15] == {(1, 'a'): [None]}\n"
        + "    assert type(v[16]) is dict and v[16] == {'a': 1} and v[17] == arg\n";
    SandboxResult r = sandbox.run(Program.withTests(solution, tests, "f"), SandboxLimits.defaults());
    assertThat(r.success()).as("%s", r.error()).isTrue();
  }

  @Test
  void shouldRaiseTheSolutionsExceptionsInTheTestsAsTheirBuiltinClass() {
    String solution = "class Mine(ValueError):\n    pass\nclass Odd(Exception):\n    pass\n"
        + "def f(kind):\n    if kind == 't':\n        raise TypeError('no t')\n"
        + "    if kind == 'm':\n        raise Mine('mine')\n    raise Odd('odd')\n";
    String tests = "def check(candidate):\n    try:\n        candidate('t')\n    except TypeError as e:\n"
        + "        assert 'no t' in str(e)\n    else:\n        raise AssertionError('no TypeError')\n"
        + "    try:\n        candidate('m')\n    except ValueError as e:\n        assert 'Mine' in str(e)\n"
        + "    else:\n        raise AssertionError('no ValueError')\n    candidate('o')\n";
    SandboxResult r = sandbox.run(Program.withTests(solution, tests, "f"), SandboxLimits.defaults());
    assertThat(r.success()).isFalse();
    assertThat(r.error().type()).isEqualTo("RuntimeError");
    assertThat(r.error().message()).contains("Odd").contains("odd");
    assertThat(r.error().traceback()).contains("tests.py").contains("main.py").doesNotContain("launcher");
    assertThat(r.evidence().failedIn()).isEqualTo(Evidence.Phase.TESTS);
  }

  @Test
  void shouldFailInTheTestsWhenTheyPassAValueTheSolutionCannotReceive() {
    SandboxResult r = sandbox.run(Program.withTests("def f(g):\n    return g(1)\n",
        "def check(candidate):\n    assert candidate(lambda x: x) == 1\n", "f"),
        SandboxLimits.defaults());
    assertThat(r.success()).isFalse();
    assertThat(r.error().type()).isEqualTo("TypeError");
    assertThat(r.error().message()).contains("cannot receive");
    assertThat(r.evidence().failedIn()).isEqualTo(Evidence.Phase.TESTS);
  }

  @Test
  void shouldNotPassAnHonestChildOfAForkWhoseParentExitedEarly() {
    // the copy that goes on runs the real tests, but it is not the process the harness judges
    SandboxResult r = runWithTests(problem.solution() + "\nimport os\nif os.fork():\n    os._exit(0)\n");
    assertThat(r.success()).isFalse();
    assertThat(r.evidence().complete()).isFalse();
  }

  @Test
  void shouldNotPassAProgramWithoutTestsThatExitsEarly() {
    for (String early : new String[] {"import sys\nsys.exit(0)\nprint('end')\n",
        "import os\nos._exit(0)\n", "raise SystemExit\n"}) {
      SandboxResult r = sandbox.run(early, SandboxLimits.defaults());
      assertThat(r.success()).as(early).isFalse();
      assertThat(r.exitCode()).isZero();
      assertThat(r.evidence().solutionCompleted()).isFalse();
    }
  }

  @Test
  void shouldNotLetTheSolutionReadTheTestsItIsJudgedBy() {
    // a solution that looks for its tests' assertions (to answer exactly what they ask) in every
    // object the garbage collector knows and in every frame of its stack: the tests never were in
    // the memory of its process, so it finds nothing, while the honest run still passes
    String marker = "candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3)";
    assertThat(problem.test()).contains(marker);
    String peek = "\nimport gc, sys\n"
        + "_key = ''.join(reversed(" + pyString(new StringBuilder(marker).reverse().toString()) + "))\n"
        + "def _hit(v):\n    return type(v) is str and v is not _key and _key in v\n"
        + "_found = []\n"
        + "for _o in gc.get_objects():\n"
        + "    _vals = _o.values() if isinstance(_o, dict) else (_o if isinstance(_o, (list, tuple)) else ())\n"
        + "    if any(_hit(_v) for _v in list(_vals)):\n        _found.append('gc')\n        break\n"
        + "_f = sys._getframe()\n"
        + "while _f is not None:\n"
        + "    if any(_hit(_v) for _v in list(_f.f_locals.values())):\n        _found.append('frame')\n"
        + "    _f = _f.f_back\n"
        + "print('PEEKED ' + ','.join(_found) if _found else 'BLIND')\n";
    SandboxResult r = runWithTests(problem.solution() + peek);
    assertThat(r.stdout()).as("%s", r.error()).contains("BLIND").doesNotContain("PEEKED");
    assertThat(r.success()).as("%s", r.error()).isTrue();
  }

  @Test
  void shouldLeaveNoByteOfARunsTestsForTheNextRunWhenItsChildEndsAtOnce() {
    // a solution that does not compile ends the run's child before it reads its tests; large
    // tests are still in the launcher's input then. The next run on the same warm launcher must
    // read its own header, not the rest of these tests
    String bigTests = problem.test() + "\n# " + "x".repeat(300_000) + "\n";
    for (int i = 0; i < 4; i++) {
      SandboxResult broken = sandbox.run(Program.withTests("def f(:\n", bigTests,
          problem.entryPoint()), SandboxLimits.defaults());
      assertThat(broken.error().type()).as("%s", broken.error()).isEqualTo("SyntaxError");
      SandboxResult honest = runWithTests(problem.solution());
      assertThat(honest.success()).as("run %d after a broken one: %s", i, honest.error()).isTrue();
    }
  }

  private static String pyString(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  @Test
  void shouldReportTestsThatDoNotCompileAsATestFailureBeforeAnythingRuns() {
    SandboxResult r = sandbox.run(Program.withTests("print('solution ran')\n",
        "def check(candidate):\n    assert candidate(\n", "f"), SandboxLimits.defaults());
    assertThat(r.error()).isNotNull();
    assertThat(r.error().type()).isEqualTo("SyntaxError");
    assertThat(r.error().line()).isEqualTo(2);
    assertThat(r.evidence()).isEqualTo(new Evidence(true, false, false, Evidence.Phase.TESTS));
    assertThat(r.stdout()).doesNotContain("solution ran");
  }

  @Test
  void shouldRequireTheTestsOwnCheckToBeCalledWithTheEntryPointLookedUpByName() {
    SandboxResult missing = runWithTests(problem.prompt().replace("def has_close_elements",
        "def something_else") + "    return True\n");
    assertThat(missing.success()).isFalse();
    assertThat(missing.error().type()).isEqualTo("NameError");
    assertThat(missing.error().message()).contains(problem.entryPoint());
    assertThat(missing.evidence().failedIn()).isEqualTo(Evidence.Phase.TESTS);

    SandboxResult noCheckInTests = sandbox.run(Program.withTests(
        "def f():\n    return 1\ndef check(c):\n    pass\n", "assert f() == 2\n", "f"),
        SandboxLimits.defaults());
    assertThat(noCheckInTests.success()).as("the tests' own assert runs").isFalse();
    assertThat(noCheckInTests.error().type()).isEqualTo("AssertionError");
  }
}
