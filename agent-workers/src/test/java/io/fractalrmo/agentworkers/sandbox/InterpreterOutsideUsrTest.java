package io.fractalrmo.agentworkers.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An interpreter installed outside /usr ({@value PythonLocator#ENV}: pyenv, conda, /opt) beneath a
 * directory other users cannot enter — a home directory of mode 0700 — and under /tmp, which the
 * sandbox mounts a tmpfs over. Each run has a uid of its own, so before the fix every import after
 * the launcher's start failed ("No module named 'random'") and correct programs were judged
 * failed. With bubblewrap the sandbox makes the directories above the interpreter in its own root
 * and binds the interpreter after its tmpfs mounts; without bubblewrap it refuses to run code and
 * says what to change.
 */
class InterpreterOutsideUsrTest {

  /** Import modules the launcher does not load before the run: they must come from the prefix. */
  private static final String SOLUTION =
      "import fractions\n\ndef half(n):\n    return float(fractions.Fraction(n, 2))\n";
  private static final String TESTS =
      "import decimal\n\ndef check(candidate):\n    assert candidate(3) == float(decimal.Decimal('1.5'))\n";

  @TempDir
  Path home;
  private Path python;

  /** home (0700)/secret.txt and home/py/bin/pythonX.Y, home/py/lib/pythonX.Y -> the system's stdlib. */
  @BeforeEach
  void installAnInterpreterBeneathAClosedDirectory() throws Exception {
    Path system = PythonLocator.locate().toRealPath();
    List<String> info = ask(system, "import sys, sysconfig; print(sysconfig.get_paths()['stdlib']);"
        + " print(sys.platlibdir); print('python%d.%d' % sys.version_info[:2])");
    Assumptions.assumeTrue(info.size() == 3, "the system interpreter describes itself");
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
    Files.writeString(home.resolve("secret.txt"), "not for the sandbox");
    Path prefix = home.resolve("py");
    Files.createDirectories(prefix.resolve("bin"));
    Files.createDirectories(prefix.resolve(info.get(1)));
    python = prefix.resolve("bin").resolve(info.get(2));
    Files.copy(system, python, StandardCopyOption.COPY_ATTRIBUTES);
    Files.createSymbolicLink(prefix.resolve(info.get(1)).resolve(info.get(2)), Path.of(info.get(0)));
    Assumptions.assumeTrue(ask(python, "import sys, fractions; print(sys.prefix)")
        .equals(List.of(prefix.toString())), "a copied interpreter finds its stdlib by its prefix");
  }

  @Test
  void shouldImportTheStandardLibraryFromTheInterpreterAndShowNothingElseOfItsHome() {
    try (PythonSandbox sandbox = PythonSandbox.create(PythonSandbox.Options.defaults(), Set.of(),
        python)) {
      Assumptions.assumeTrue(sandbox.confinement().layers().contains(Confinement.BUBBLEWRAP),
          "bubblewrap works here (the case without it is the next test)");
      SandboxResult r = sandbox.run(Program.withTests(SOLUTION, TESTS, "half"),
          SandboxLimits.defaults());
      assertThat(r.success()).as(r.toString()).isTrue();
      assertThat(r.evidence().testsCompleted()).isTrue();

      // the host's directory above the interpreter is not there: only the prefix is bound
      SandboxResult seen = sandbox.run("try:\n    open(" + quoted(home.resolve("secret.txt"))
          + ").read()\n    print('read')\nexcept OSError as e:\n    print(type(e).__name__)\n",
          SandboxLimits.defaults());
      assertThat(seen.success()).as(seen.toString()).isTrue();
      assertThat(seen.stdout()).isEqualTo("FileNotFoundError\n");
    }
  }

  @Test
  void shouldRefuseWithoutBubblewrapWhenRunsCannotEnterTheInterpretersDirectory() {
    try (PythonSandbox sandbox = PythonSandbox.create(HostileCodeWithoutBubblewrapTest.NO_BWRAP,
        Set.of(), python)) {
      Confinement c = sandbox.confinement();
      Assumptions.assumeTrue(c.blocksHostFiles(), "Landlock confines runs here without bubblewrap");
      SandboxResult r = sandbox.run(Program.withTests(SOLUTION, TESTS, "half"),
          SandboxLimits.defaults());
      if (!c.layers().contains(Confinement.UID)) {
        // not root: runs keep this user's uid, which may enter its own directory
        assertThat(r.success()).as(r.toString()).isTrue();
        return;
      }
      assertThat(c.runsCode()).isFalse();
      assertThat(c.refusal()).contains(home.toString()).contains("chmod o+x")
          .contains(PythonLocator.ENV).contains("bubblewrap");
      assertThat(r.refused()).as(r.toString()).isTrue();
      assertThat(r.success()).isFalse();
    }
  }

  @Test
  void shouldNameTheOutermostClosedDirectoryAndNothingForTheSystemInterpreter() throws Exception {
    assertThat(PythonLocator.closedToOthers(python)).contains(home);
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx--x--x"));
    assertThat(PythonLocator.closedToOthers(python)).isEmpty();
    assertThat(PythonLocator.prefixesOutsideUsr(Path.of("/usr/bin/python3"))).isEmpty();
    assertThat(PythonLocator.prefixesOutsideUsr(python)).containsExactly(home.resolve("py"));
  }

  private static String quoted(Path p) {
    return "'" + p.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  private static List<String> ask(Path python, String code) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(python.toString(), "-I", "-c", code).redirectErrorStream(true)
        .start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return List.of();
    }
    return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8).strip().lines().toList()
        : List.of();
  }
}
