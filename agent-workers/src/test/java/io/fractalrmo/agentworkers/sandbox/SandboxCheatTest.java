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
 * to the same problem (HumanEval/0 with its own tests) succeeds. This is the sandbox's half of the
 * cheat suite; the pipeline's half runs the same tricks through the executor and validator.
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
        Arguments.of("os._exit(0) at module level", "\nimport os\nos._exit(0)\n"),
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
        Arguments.of("KeyboardInterrupt", "    raise KeyboardInterrupt\n"));
  }

  @ParameterizedTest(name = "{0} inside the function under test")
  @MethodSource("earlyExitsOfAFunctionUnderTest")
  void shouldNotPassAFunctionThatEndsTheProcess(String name, String body) {
    SandboxResult r = runWithTests(problem.prompt() + body);
    assertThat(r.success()).as("%s: %s", name, r.error()).isFalse();
    assertThat(r.evidence().solutionCompleted()).isTrue();
    assertThat(r.evidence().testsCompleted()).isFalse();
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
