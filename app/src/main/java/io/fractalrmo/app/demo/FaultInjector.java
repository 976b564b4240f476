package io.fractalrmo.app.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a HumanEval problem into a candidate solution with one realistic mistake, or none.
 *
 * <p>Pure and deterministic: the same seed, problem and fault always give the same code (the
 * random choices are drawn from a generator seeded by the seed, the problem id and the fault, so
 * they do not depend on the order problems are asked for). {@link #inject} is empty when the fault
 * does not apply to the problem (no import to drop, no comparison to flip that the tests notice).
 */
public final class FaultInjector {

  /** Standard-library modules whose {@code import X} line may be dropped (the solution uses {@code X.}). */
  static final Set<String> DROPPABLE_MODULES = Set.of(
      "math", "re", "collections", "hashlib", "string", "itertools", "functools", "heapq",
      "random", "statistics", "fractions", "bisect");

  /**
   * Problems whose first mutation site (see {@link #mutationSites}) makes the HumanEval tests
   * fail with an AssertionError. Found by running every site against the tests with the real
   * interpreter; {@code FaultInjectorTest} checks each of them again. A flipped comparison that
   * the tests do not notice would not be a wrong result, so the other problems are left out.
   */
  static final Set<Integer> WRONG_RESULT_VERIFIED = Set.of(
      0, 1, 3, 6, 11, 12, 15, 20, 24, 26, 30, 36, 37, 39, 42, 47, 48, 52, 54, 55, 56, 57, 58, 60,
      61, 63, 64, 65, 66, 68, 71, 72, 73, 74, 75, 76, 77, 80, 81, 82, 83, 85, 87, 90, 91, 92, 94,
      95, 96, 99, 101, 102, 103, 104, 106, 107, 109, 110, 112, 117, 118, 119, 120, 122, 124, 125,
      126, 127, 130, 131, 132, 134, 136, 137, 138, 141, 142, 143, 144, 148, 149, 150, 153, 157,
      161, 163);

  private static final Pattern TYPING_IMPORT = Pattern.compile("^from typing import .+$");
  private static final Pattern MODULE_IMPORT = Pattern.compile("^(\\s*)import ([a-z_]+)\\s*$");

  /** Mutations in priority order: a flipped comparison, an off-by-one, an inverted constant. */
  private static final String[][] MUTATIONS = {
      {" <= ", " < "}, {" >= ", " > "}, {" < ", " <= "}, {" > ", " >= "},
      {" == ", " != "}, {" != ", " == "},
      {"\\+ 1\\b", "+ 2"}, {"- 1\\b", "- 2"},
      {"return True\\b", "return False"}, {"return False\\b", "return True"}};

  private final long seed;
  private final long timeLimitMs;
  private final double slowFactorMin;
  private final double slowFactorMax;

  /**
   * @param seed the run's seed
   * @param timeLimitMs the time limit every task is submitted with
   * @param slowFactorMin lower bound of a SLOW solution's delay, as a multiple of the limit
   * @param slowFactorMax upper bound (exclusive) of that multiple
   */
  public FaultInjector(long seed, long timeLimitMs, double slowFactorMin, double slowFactorMax) {
    if (timeLimitMs <= 0) {
      throw new IllegalArgumentException("time limit must be positive");
    }
    if (slowFactorMin <= 1.0 || slowFactorMax < slowFactorMin) {
      throw new IllegalArgumentException("slow factor must be > 1 and min <= max");
    }
    this.seed = seed;
    this.timeLimitMs = timeLimitMs;
    this.slowFactorMin = slowFactorMin;
    this.slowFactorMax = slowFactorMax;
  }

  /** A delay of 1.3–1.6 × the limit: over it, yet well inside a doubled timeout. */
  public FaultInjector(long seed, long timeLimitMs) {
    this(seed, timeLimitMs, 1.3, 1.6);
  }

  public long timeLimitMs() {
    return timeLimitMs;
  }

  /** Whether {@code fault} can be injected into {@code problem}. */
  public boolean applies(Problem problem, Fault fault) {
    return inject(problem, fault).isPresent();
  }

  /** The candidate code with {@code fault}, or empty when the fault does not apply. */
  public Optional<FaultedCode> inject(Problem problem, Fault fault) {
    SplittableRandom random = new SplittableRandom(
        seed * 31 + problem.id().hashCode() * 17L + fault.ordinal());
    return switch (fault) {
      case NONE -> Optional.of(new FaultedCode(problem, fault, problem.canonicalCode(),
          "canonical solution"));
      case MISSING_IMPORT -> missingImport(problem);
      case SLOW -> Optional.of(slow(problem, random));
      case SYNTAX_SLIP -> syntaxSlip(problem);
      case WRONG_RESULT -> wrongResult(problem);
      case FORBIDDEN_CALL -> Optional.of(forbiddenCall(problem, random));
    };
  }

  private Optional<FaultedCode> missingImport(Problem problem) {
    List<String> prompt = lines(problem.prompt());
    for (int i = 0; i < prompt.size(); i++) {
      if (TYPING_IMPORT.matcher(prompt.get(i)).matches() && usesImportedName(prompt, i)) {
        String dropped = prompt.remove(i);
        return Optional.of(new FaultedCode(problem, Fault.MISSING_IMPORT,
            join(prompt) + problem.canonicalSolution(), "dropped '" + dropped.trim() + "'"));
      }
    }
    String body = problem.canonicalSolution();
    for (int i = 0; i < prompt.size(); i++) {
      Optional<String> module = droppableModule(prompt.get(i), problem.prompt() + body);
      if (module.isPresent()) {
        String dropped = prompt.remove(i);
        return Optional.of(new FaultedCode(problem, Fault.MISSING_IMPORT, join(prompt) + body,
            "dropped '" + dropped.trim() + "'"));
      }
    }
    List<String> solution = lines(body);
    for (int i = 0; i < solution.size(); i++) {
      Optional<String> module = droppableModule(solution.get(i), body);
      if (module.isPresent() && !onlyStatementOfBlock(solution, i)) {
        String dropped = solution.remove(i);
        return Optional.of(new FaultedCode(problem, Fault.MISSING_IMPORT,
            problem.prompt() + join(solution), "dropped '" + dropped.trim() + "'"));
      }
    }
    return Optional.empty();
  }

  /** Whether a name from the {@code from typing import ...} at {@code index} is used elsewhere. */
  private static boolean usesImportedName(List<String> prompt, int index) {
    String names = prompt.get(index).substring("from typing import ".length());
    List<String> others = new ArrayList<>(prompt);
    others.remove(index);
    String rest = join(others);
    for (String name : names.split(",")) {
      if (Pattern.compile("\\b" + Pattern.quote(name.trim()) + "\\b").matcher(rest).find()) {
        return true;
      }
    }
    return false;
  }

  private static Optional<String> droppableModule(String line, String code) {
    Matcher m = MODULE_IMPORT.matcher(line);
    if (m.matches() && DROPPABLE_MODULES.contains(m.group(2))
        && code.contains(m.group(2) + ".")) {
      return Optional.of(m.group(2));
    }
    return Optional.empty();
  }

  private static boolean onlyStatementOfBlock(List<String> lines, int index) {
    return index > 0 && lines.get(index - 1).trim().endsWith(":")
        && (index + 1 >= lines.size() || indent(lines.get(index + 1)) < indent(lines.get(index)));
  }

  private FaultedCode slow(Problem problem, SplittableRandom random) {
    double factor = slowFactorMin + random.nextDouble() * (slowFactorMax - slowFactorMin);
    long delayMs = Math.round(timeLimitMs * factor);
    String warmUp = """


        def _warm_up_cache(seconds):
            # Pretends to precompute a lookup table the solution never needs: correct, but slow.
            import time
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


        _warm_up_cache(%s)
        """.formatted(String.format(Locale.ROOT, "%.3f", delayMs / 1000.0));
    return new FaultedCode(problem, Fault.SLOW, problem.canonicalCode() + warmUp,
        String.format(Locale.ROOT, "start-up delay of %d ms (%.2f x the %d ms limit)", delayMs,
            factor, timeLimitMs));
  }

  private Optional<FaultedCode> syntaxSlip(Problem problem) {
    List<String> body = lines(problem.canonicalSolution());
    for (int i = 0; i < body.size(); i++) {
      String line = body.get(i);
      String trimmed = line.trim();
      if (trimmed.endsWith(":") && !trimmed.startsWith("#") && isCode(trimmed)) {
        body.set(i, line.substring(0, line.lastIndexOf(':')));
        return Optional.of(new FaultedCode(problem, Fault.SYNTAX_SLIP,
            problem.prompt() + join(body), "dropped the colon of line " + (i + 1)
            + " of the body: '" + trimmed + "'"));
      }
    }
    for (int i = 0; i < body.size(); i++) {
      String line = body.get(i);
      int at = line.indexOf("return ");
      if (at >= 0 && isCode(line.trim())) {
        body.set(i, line.substring(0, at + 7) + "(" + line.substring(at + 7));
        return Optional.of(new FaultedCode(problem, Fault.SYNTAX_SLIP,
            problem.prompt() + join(body), "unbalanced parenthesis in line " + (i + 1)
            + " of the body: '" + line.trim() + "'"));
      }
    }
    return Optional.empty();
  }

  private Optional<FaultedCode> wrongResult(Problem problem) {
    if (!WRONG_RESULT_VERIFIED.contains(problem.number())) {
      return Optional.empty();
    }
    List<Site> sites = mutationSites(problem.canonicalSolution());
    if (sites.isEmpty()) {
      return Optional.empty();
    }
    Site site = sites.get(0);
    List<String> body = lines(problem.canonicalSolution());
    String before = body.get(site.line());
    String after = before.substring(0, site.start()) + site.replacement()
        + before.substring(site.end());
    body.set(site.line(), after);
    return Optional.of(new FaultedCode(problem, Fault.WRONG_RESULT,
        problem.prompt() + join(body),
        "'" + before.trim() + "' became '" + after.trim() + "'"));
  }

  /** Where a comparison, an off-by-one or a boolean constant can be flipped, in body order. */
  static List<Site> mutationSites(String solution) {
    List<Site> sites = new ArrayList<>();
    List<String> body = lines(solution);
    for (int i = 0; i < body.size(); i++) {
      String line = body.get(i);
      String trimmed = line.trim();
      if (trimmed.startsWith("#") || trimmed.startsWith("\"") || trimmed.startsWith("'")) {
        continue;
      }
      for (String[] mutation : MUTATIONS) {
        Matcher m = Pattern.compile(mutation[0]).matcher(line);
        while (m.find()) {
          sites.add(new Site(i, m.start(), m.end(), mutation[1]));
        }
      }
    }
    return sites;
  }

  record Site(int line, int start, int end, String replacement) {
  }

  private FaultedCode forbiddenCall(Problem problem, SplittableRandom random) {
    List<String> body = lines(problem.canonicalSolution());
    int first = 0;
    while (first < body.size() && body.get(first).isBlank()) {
      first++;
    }
    String indent = first < body.size()
        ? body.get(first).substring(0, indent(body.get(first))) : "    ";
    String[][] variants = {
        {"import os", "os.system(\"curl -s https://example.com/telemetry?ok=1 > /dev/null\")",
            "os.system"},
        {"import subprocess", "subprocess.run([\"pip\", \"install\", \"requests\"], check=False)",
            "subprocess.run"},
        {"import socket", "socket.create_connection((\"example.com\", 80), timeout=1).close()",
            "socket connect"}};
    String[] chosen = variants[random.nextInt(variants.length)];
    List<String> out = new ArrayList<>(body);
    out.add(first, indent + chosen[1]);
    out.add(first, indent + chosen[0]);
    return new FaultedCode(problem, Fault.FORBIDDEN_CALL, problem.prompt() + join(out),
        "inserted " + chosen[2]);
  }

  private static boolean isCode(String trimmed) {
    return !trimmed.startsWith("\"") && !trimmed.startsWith("'") && !trimmed.startsWith("#");
  }

  private static int indent(String line) {
    int n = 0;
    while (n < line.length() && line.charAt(n) == ' ') {
      n++;
    }
    return n;
  }

  /** Lines of {@code text}; a trailing newline gives a trailing empty element so join restores it. */
  private static List<String> lines(String text) {
    return new ArrayList<>(List.of(text.split("\n", -1)));
  }

  private static String join(List<String> lines) {
    return String.join("\n", lines);
  }
}
