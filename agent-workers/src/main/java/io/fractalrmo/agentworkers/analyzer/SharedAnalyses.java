package io.fractalrmo.agentworkers.analyzer;

import io.fractalrmo.contracts.Aspect;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * One analysis per task for all the aspect analyzers of a process: the first analyzer to see a
 * task asks a helper for every aspect this process analyses in one request (one parse of the
 * solution, the tests and the program, see {@link PythonAnalysisHelper#analyzeAspects}); the
 * others take their aspect's report from it. A report is exactly what the aspect's own
 * {@code analyzeProgram} call would return. Entries are keyed by task id and a digest of the code,
 * tests and entry point (a task re-sent with other code is analysed again), dropped once every
 * aspect took its report, and bounded in number; a failed analysis is not kept, so a record read
 * again is analysed again. The helpers (one per worker instance) are shared: at most that many
 * analyses run at once. Thread-safe.
 */
public final class SharedAnalyses implements AutoCloseable {

  private static final int MAX_ENTRIES = 4_096;

  /** What answers one request for several aspects (a helper's {@code analyzeAspects}). */
  @FunctionalInterface
  interface Engine {
    Map<Aspect, PythonAnalysisHelper.Report> analyzeAspects(String code, String tests,
        String entryPoint, Set<Aspect> aspects);
  }

  private final Set<Aspect> aspects;
  private final BlockingQueue<Engine> helpers;
  private final List<AutoCloseable> all;
  private final Duration wait;
  private final Map<String, Entry> entries = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
      return size() > MAX_ENTRIES;
    }
  };

  private static final class Entry {
    final CompletableFuture<Map<Aspect, PythonAnalysisHelper.Report>> result = new CompletableFuture<>();
    final Set<Aspect> pending;

    Entry(Set<Aspect> aspects) {
      this.pending = EnumSet.copyOf(aspects);
    }
  }

  /**
   * @param aspects the aspects analysed in this process (the reports made for each task)
   * @param helpers how many helper processes to share
   * @param helperFactory makes one helper
   */
  public SharedAnalyses(Set<Aspect> aspects, int helpers, Supplier<PythonAnalysisHelper> helperFactory) {
    this(aspects, start(helpers, helperFactory));
  }

  private static List<PythonAnalysisHelper> start(int n, Supplier<PythonAnalysisHelper> factory) {
    List<PythonAnalysisHelper> list = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(factory.get());
    }
    return list;
  }

  private SharedAnalyses(Set<Aspect> aspects, List<PythonAnalysisHelper> helpers) {
    this(aspects, helpers.stream().<Engine>map(h -> h::analyzeAspects).toList(),
        List.copyOf(helpers));
  }

  /** On {@code engines} (one analysis at a time each); {@code resources} are closed with this. */
  SharedAnalyses(Set<Aspect> aspects, List<Engine> engines, List<? extends AutoCloseable> resources) {
    if (aspects.isEmpty() || engines.isEmpty()) {
      throw new IllegalArgumentException("need at least one aspect and one helper");
    }
    this.aspects = EnumSet.copyOf(aspects);
    this.helpers = new ArrayBlockingQueue<>(engines.size(), false, engines);
    this.all = List.copyOf(resources);
    this.wait = Duration.ofMinutes(2);
  }

  /** The report of {@code aspect} for this task's program (analysed once for all aspects). */
  public PythonAnalysisHelper.Report analyze(Aspect aspect, String taskId, String code,
      String tests, String entryPoint) {
    try {
      return analyzeOrWait(aspect, taskId, code, tests, entryPoint);
    } catch (InterruptedException e) {
      // as a helper request does: the interrupt stays set, the analysis fails
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while analysing task " + taskId, e);
    }
  }

  private PythonAnalysisHelper.Report analyzeOrWait(Aspect aspect, String taskId, String code,
      String tests, String entryPoint) throws InterruptedException {
    if (!aspects.contains(aspect)) {
      throw new IllegalArgumentException(aspect + " is not analysed here");
    }
    String key = taskId + "#" + digest(code, tests, entryPoint);
    Entry entry;
    boolean mine = false;
    synchronized (entries) {
      entry = entries.get(key);
      if (entry == null) {
        entry = new Entry(aspects);
        entries.put(key, entry);
        mine = true;
      }
    }
    if (mine) {
      compute(key, entry, code, tests, entryPoint);
    }
    try {
      Map<Aspect, PythonAnalysisHelper.Report> reports =
          entry.result.get(wait.toMillis(), TimeUnit.MILLISECONDS);
      taken(key, entry, aspect);
      return reports.get(aspect);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("the shared analysis of task " + taskId
          + " did not finish within " + wait.toSeconds() + " s");
    }
  }

  private void compute(String key, Entry entry, String code, String tests, String entryPoint)
      throws InterruptedException {
    Engine helper = null;
    try {
      helper = helpers.take();
      entry.result.complete(helper.analyzeAspects(code, tests, entryPoint, aspects));
    } catch (RuntimeException | Error e) {
      entry.result.completeExceptionally(e);
    } catch (InterruptedException e) {
      entry.result.completeExceptionally(e);
      throw e;
    } finally {
      if (helper != null) {
        helpers.add(helper);
      }
      if (entry.result.isCompletedExceptionally()) {
        synchronized (entries) {
          entries.remove(key, entry); // not kept: a record read again is analysed again
        }
      }
    }
  }

  private void taken(String key, Entry entry, Aspect aspect) {
    synchronized (entries) {
      entry.pending.remove(aspect);
      if (entry.pending.isEmpty()) {
        entries.remove(key, entry);
      }
    }
  }

  /** Entries held (for tests). */
  int size() {
    synchronized (entries) {
      return entries.size();
    }
  }

  private static String digest(String code, String tests, String entryPoint) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (String part : new String[] {code, tests, entryPoint}) {
        byte[] b = part == null ? new byte[] {0} : part.getBytes(StandardCharsets.UTF_8);
        md.update(Integer.toString(b.length).getBytes(StandardCharsets.US_ASCII));
        md.update((byte) ':');
        md.update(b);
      }
      return HexFormat.of().formatHex(md.digest(), 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    for (AutoCloseable h : all) {
      try {
        h.close();
      } catch (Exception e) {
        // a helper process that does not stop cleanly is killed by its own close
      }
    }
  }
}
