package io.fractalrmo.agentworkers.analyzer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fractalrmo.agentworkers.sandbox.Bubblewrap;
import io.fractalrmo.agentworkers.sandbox.PythonError;
import io.fractalrmo.agentworkers.sandbox.PythonLocator;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.Bounded;
import io.fractalrmo.contracts.Finding;
import io.fractalrmo.contracts.FindingPolicy;
import io.fractalrmo.contracts.Severity;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A long-lived Python process (per worker) that parses code with Python's own {@code ast},
 * {@code symtable} and {@code compile}, and looks modules up with
 * {@code importlib.util.find_spec} in the same interpreter the sandbox runs. JSON lines over
 * stdin/stdout; the script ({@code analysis_helper.py}) ships in the jar. It never executes the
 * code it is given. A request that does not answer within the timeout restarts the process. With
 * bubblewrap installed the helper runs confined like the sandbox (no network, read-only system,
 * empty environment), in the same interpreter, so module lookups see what sandboxed code sees.
 * Thread-safe (requests are serialised).
 */
public final class PythonAnalysisHelper implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PythonAnalysisHelper.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A name the code uses but never binds; {@code module} is set when an import would fix it. */
  public record MissingName(String name, String module, String statement, Integer line) {}

  /** Result of an analysis: findings, and whether the code parsed at all. */
  public record Report(List<Finding> findings, boolean parsed, String note) {}

  /** Python's standard-library module names and {@code typing}'s public names. */
  public record PythonNames(Set<String> stdlibModules, Set<String> typingNames, String version) {
    public Optional<String> moduleProviding(String name) {
      if (stdlibModules.contains(name)) {
        return Optional.of(name);
      }
      if (typingNames.contains(name)) {
        return Optional.of("typing");
      }
      return Optional.empty();
    }
  }

  private final Path python;
  private final Path script;
  private final Duration timeout;
  private Process process;
  private BufferedWriter in;
  private BufferedReader out;
  private long nextId;
  private PythonNames names;

  public PythonAnalysisHelper() {
    this(PythonLocator.locate(), Duration.ofSeconds(20));
  }

  public PythonAnalysisHelper(Path python, Duration timeout) {
    this.python = python;
    this.timeout = timeout;
    try {
      this.script = Files.createTempFile("fractal-analysis-", ".py");
      // close() deletes it; this covers a helper its owner never closed before the JVM exits
      script.toFile().deleteOnExit();
      try (InputStream res = PythonAnalysisHelper.class.getResourceAsStream("analysis_helper.py")) {
        if (res == null) {
          throw new IllegalStateException("analysis_helper.py missing from the classpath");
        }
        Files.copy(res, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The solution alone, for {@code aspects}. */
  public Report analyze(String code, Collection<Aspect> aspects) {
    ObjectNode req = JSON.createObjectNode().put("op", "analyze").put("code", code);
    aspects.forEach(a -> req.withArray("aspects").add(a.name()));
    return report(request(req));
  }

  /**
   * Everything that will run: the solution for {@code aspects}, and — for SECURITY and
   * DEPENDENCY — the test code and the program as it runs (solution, tests and
   * {@code check(entryPoint)} in one namespace). Findings outside the solution say which part they
   * are in. Each finding is bounded, at most {@link Bounded#MAX_FINDINGS} are kept, and the
   * {@code blocking} flag of a SECURITY finding is the {@link FindingPolicy}'s (confined column).
   */
  public Report analyzeProgram(String code, String testCode, String entryPoint,
      Collection<Aspect> aspects) {
    return report(request(programRequest("analyze_program", code, testCode, entryPoint, aspects)));
  }

  private static ObjectNode programRequest(String op, String code, String testCode,
      String entryPoint, Collection<Aspect> aspects) {
    ObjectNode req = JSON.createObjectNode().put("op", op).put("code", code == null ? "" : code);
    if (testCode != null) {
      req.put("test_code", testCode);
    }
    if (entryPoint != null) {
      req.put("entry_point", entryPoint);
    }
    aspects.forEach(a -> req.withArray("aspects").add(a.name()));
    return req;
  }

  /**
   * {@link #analyzeProgram} for each of {@code aspects} alone, in one request: the helper parses
   * the solution, the tests and the composed program once and runs every aspect's checks on those
   * trees, so each aspect's report is what {@code analyzeProgram(..., List.of(aspect))} returns.
   */
  public java.util.Map<Aspect, Report> analyzeAspects(String code, String testCode,
      String entryPoint, Collection<Aspect> aspects) {
    JsonNode r = request(programRequest("analyze_aspects", code, testCode, entryPoint, aspects));
    java.util.Map<Aspect, Report> reports = new java.util.EnumMap<>(Aspect.class);
    for (Aspect a : aspects) {
      JsonNode one = r.path("by_aspect").path(a.name());
      if (one.isMissingNode()) {
        throw new IllegalStateException("the analysis helper returned no report for " + a);
      }
      reports.put(a, report(one));
    }
    return reports;
  }

  private static Report report(JsonNode r) {
    List<Finding> findings = new ArrayList<>();
    for (JsonNode f : r.path("findings")) {
      findings.add(FindingPolicy.withPolicyFlag(Bounded.finding(Finding.newBuilder()
          .setType(f.path("type").asText())
          .setSeverity(severity(f.path("severity").asText("INFO")))
          .setLine(f.hasNonNull("line") ? f.get("line").asInt() : null)
          .setDescription(f.path("description").asText())
          .setAspect(aspect(f.path("aspect").asText("UNKNOWN")))
          .setBlocking(f.path("blocking").asBoolean(false))
          .build())));
    }
    String note = r.hasNonNull("note") ? r.get("note").asText() : null;
    if (r.hasNonNull("test_note")) {
      note = (note == null ? "" : note + "; ") + r.get("test_note").asText();
    }
    return new Report(Bounded.findings(findings), r.path("parsed").asBoolean(false),
        Bounded.text(note, Bounded.MESSAGE_CHARS));
  }

  private static Severity severity(String s) {
    try {
      return Severity.valueOf(s);
    } catch (IllegalArgumentException e) {
      return Severity.INFO;
    }
  }

  private static Aspect aspect(String s) {
    try {
      return Aspect.valueOf(s);
    } catch (IllegalArgumentException e) {
      return Aspect.UNKNOWN;
    }
  }

  /** Empty when the code compiles; otherwise the SyntaxError (type, message, line). */
  public Optional<PythonError> compileError(String code) {
    JsonNode r = request(JSON.createObjectNode().put("op", "compile").put("code", code));
    if (r.path("ok").asBoolean(false)) {
      return Optional.empty();
    }
    JsonNode e = r.path("syntax_error");
    return Optional.of(new PythonError(e.path("type").asText("SyntaxError"),
        e.path("message").asText(""), null, e.hasNonNull("line") ? e.get("line").asInt() : null));
  }

  public List<MissingName> missingNames(String code) {
    JsonNode r = request(JSON.createObjectNode().put("op", "missing_imports").put("code", code));
    List<MissingName> list = new ArrayList<>();
    for (JsonNode m : r.path("missing")) {
      list.add(new MissingName(m.path("name").asText(),
          m.hasNonNull("module") ? m.get("module").asText() : null,
          m.hasNonNull("statement") ? m.get("statement").asText() : null,
          m.hasNonNull("line") ? m.get("line").asInt() : null));
    }
    return list;
  }

  /** Names of the module-level functions {@code code} defines (e.g. whether tests define check). */
  public List<String> topLevelFunctions(String code) {
    JsonNode r = request(JSON.createObjectNode().put("op", "defs").put("code", code));
    List<String> list = new ArrayList<>();
    r.path("functions").forEach(n -> list.add(n.asText()));
    return list;
  }

  public synchronized PythonNames names() {
    if (names == null) {
      JsonNode r = request(JSON.createObjectNode().put("op", "names"));
      Set<String> stdlib = new HashSet<>();
      r.path("stdlib").forEach(n -> stdlib.add(n.asText()));
      Set<String> typing = new HashSet<>();
      r.path("typing").forEach(n -> typing.add(n.asText()));
      names = new PythonNames(Set.copyOf(stdlib), Set.copyOf(typing), r.path("version").asText());
    }
    return names;
  }

  private synchronized JsonNode request(ObjectNode req) {
    for (int attempt = 1; ; attempt++) {
      ensureStarted();
      String id = Long.toString(++nextId);
      req.put("id", id);
      try {
        in.write(JSON.writeValueAsString(req));
        in.write('\n');
        in.flush();
        BufferedReader reader = out;
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
          try {
            return reader.readLine();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
        String text = line.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (text == null) {
          throw new IOException("analysis helper exited");
        }
        JsonNode r = JSON.readTree(text);
        if (!id.equals(r.path("id").asText())) {
          throw new IOException("analysis helper answered out of order");
        }
        if (r.hasNonNull("error")) {
          throw new IllegalStateException("analysis helper: " + r.get("error").asText());
        }
        return r;
      } catch (IOException | ExecutionException | TimeoutException e) {
        log.warn("analysis helper failed ({}), restarting it", e.toString());
        stop();
        if (attempt >= 2) {
          throw new IllegalStateException("analysis helper failed twice: " + e, e);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stop();
        throw new IllegalStateException("interrupted", e);
      }
    }
  }

  private void ensureStarted() {
    if (process != null && process.isAlive()) {
      return;
    }
    List<String> cmd = new ArrayList<>();
    Optional<Path> bwrap = Bubblewrap.find().filter(b -> Bubblewrap.works(b, python, true));
    if (bwrap.isPresent()) {
      // defence in depth: the helper parses untrusted code, so it gets the sandbox's view too
      cmd.addAll(Bubblewrap.prefix(bwrap.get(), python, true));
      cmd.addAll(List.of("--ro-bind", script.toString(), "/fractal/analysis_helper.py",
          python.toString(), "-I", "/fractal/analysis_helper.py"));
    } else {
      cmd.addAll(List.of(python.toString(), "-I", script.toString()));
    }
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().clear();
    pb.environment().put("PATH", "/usr/bin:/bin");
    pb.environment().put("LANG", "C.UTF-8");
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the analysis helper", e);
    }
    in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
    out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  private void stop() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
  }

  @Override
  public synchronized void close() {
    stop();
    try {
      Files.deleteIfExists(script);
    } catch (IOException e) {
      log.debug("could not delete {}", script, e);
    }
  }
}
