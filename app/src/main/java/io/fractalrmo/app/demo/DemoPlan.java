package io.fractalrmo.app.demo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Which tasks the demo submits, in which wave: a pure function of the problems, the injector, the
 * size and the seed.
 *
 * <p>Wave 1 holds fresh learning tasks, run before any rule exists (the "before learning"
 * figures). Wave 2, the comparison, runs once rules were adopted: a set of fresh faulted tasks
 * submitted twice, under new task ids — once with attribute {@code fractal.rules=off}, once with
 * rules on — pair by pair, interleaved, so both arms meet the same load, the same rules and the
 * same moment of the run. About 40 % of the size is the comparison (each task counted twice),
 * the rest is learning tasks.
 */
public record DemoPlan(List<DemoTask> wave1, List<DemoTask> wave2, Workload workload) {

  /** Share of each fault among learning tasks: enough repeats of each fixable fault to learn from. */
  static final Map<Fault, Double> LEARN_MIX = Workload.DEFAULT.learnMix();
  /** Share of each fault in the comparison set. */
  static final Map<Fault, Double> COMPARE_MIX = Workload.DEFAULT.compareMix();

  public static final int MIN_TASKS = 12;
  /**
   * Failures of one pattern a full trial re-runs (the protocol updater's default sample per
   * arm): the default workload gives each learnt import module at least this many.
   */
  public static final int FAILURES_PER_PATTERN = 5;
  /** Fewer learning failures than this of a module and its rule cannot even be tried. */
  static final int MIN_FAILURES_TO_TRY = 3;

  public List<DemoTask> all() {
    List<DemoTask> all = new ArrayList<>(wave1);
    all.addAll(wave2);
    return all;
  }

  public static DemoPlan build(List<Problem> problems, FaultInjector injector, int tasks,
      long seed, String runId) {
    return build(problems, injector, tasks, seed, runId, Workload.DEFAULT);
  }

  public static DemoPlan build(List<Problem> problems, FaultInjector injector, int tasks,
      long seed, String runId, Workload workload) {
    if (tasks < MIN_TASKS) {
      throw new IllegalArgumentException("--tasks must be at least " + MIN_TASKS);
    }
    Random random = new Random(seed);
    Map<Fault, List<FaultedCode>> pools = new EnumMap<>(Fault.class);
    for (Fault fault : Fault.values()) {
      List<FaultedCode> pool = new ArrayList<>();
      for (Problem p : problems) {
        injector.inject(p, fault).ifPresent(pool::add);
      }
      Collections.shuffle(pool, random);
      pools.put(fault, pool);
    }
    Map<Fault, Integer> cursor = new EnumMap<>(Fault.class);

    int compare = Math.max(5, (int) Math.round(tasks * 0.20));
    int learn = tasks - 2 * compare;
    List<DemoTask> wave1 = new ArrayList<>();
    List<DemoTask> wave2 = new ArrayList<>();
    int l = 0;
    Map<String, Integer> learntModules = new LinkedHashMap<>();
    List<Fault> learnFaults = apportion(workload.learnMix(), learn);
    List<FaultedCode> learnImports = learningImports(pools.get(Fault.MISSING_IMPORT),
        (int) learnFaults.stream().filter(f -> f == Fault.MISSING_IMPORT).count(),
        workload.concentrateImports());
    int li = 0;
    for (Fault fault : learnFaults) {
      String id = runId + "-l" + (l++);
      FaultedCode code = fault == Fault.MISSING_IMPORT ? learnImports.get(li++)
          : next(pools, cursor, fault);
      if (fault == Fault.MISSING_IMPORT) {
        learntModules.merge(missingModule(code), 1, Integer::sum);
      }
      wave1.add(new DemoTask(id, code, 1, DemoTask.Arm.LEARN, id));
    }
    // A missing import is fixed by a rule for its module, learnt from a pattern of at least
    // three occurrences: compare only on modules the learning tasks give that chance (the
    // single 'import hashlib' of HumanEval cannot teach anything).
    // Fresh: a problem already run in wave 1 is not compared (unless nothing else is left).
    java.util.Set<String> seen = new java.util.HashSet<>();
    wave1.forEach(t -> seen.add(t.faulted().code()));
    List<FaultedCode> comparableImports = pools.get(Fault.MISSING_IMPORT).stream()
        .filter(c -> learntModules.getOrDefault(missingModule(c), 0) >= MIN_FAILURES_TO_TRY)
        .toList();
    List<FaultedCode> freshImports = comparableImports.stream()
        .filter(c -> !seen.contains(c.code())).toList();
    if (!freshImports.isEmpty()) {
      comparableImports = freshImports;
    }
    int n = 0;
    int imports = 0;
    List<DemoTask[]> pairs = new ArrayList<>();
    for (Fault fault : apportion(workload.compareMix(), compare)) {
      FaultedCode code = fault == Fault.MISSING_IMPORT && !comparableImports.isEmpty()
          ? comparableImports.get(
              comparableImports.size() - 1 - (imports++ % comparableImports.size()))
          : next(pools, cursor, fault);
      String pair = runId + "-c" + (n++);
      pairs.add(new DemoTask[] {
          new DemoTask(pair + "-off", code, 2, DemoTask.Arm.RULES_OFF, pair),
          new DemoTask(pair + "-on", code, 2, DemoTask.Arm.RULES_ON, pair)});
    }
    Collections.shuffle(wave1, random);
    // Interleaved: the two runs of a pair are submitted one after the other, and which goes
    // first alternates, so neither arm gets the emptier queue.
    Collections.shuffle(pairs, random);
    for (int i = 0; i < pairs.size(); i++) {
      DemoTask[] p = pairs.get(i);
      wave2.add(p[i % 2]);
      wave2.add(p[1 - i % 2]);
    }
    return new DemoPlan(List.copyOf(wave1), List.copyOf(wave2), workload);
  }

  /**
   * The learning wave's missing imports. Concentrated: on the fewest modules that give each at
   * least {@link #FAILURES_PER_PATTERN} failures (most common modules first, at most three), so
   * that every rule learnt gets a full trial. Spread: round robin over every module, rarest
   * first, so that most modules repeat too seldom to be tried.
   */
  static List<FaultedCode> learningImports(List<FaultedCode> pool, int count,
      boolean concentrate) {
    Map<String, List<FaultedCode>> byModule = new LinkedHashMap<>();
    for (FaultedCode c : pool) {
      byModule.computeIfAbsent(missingModule(c), m -> new ArrayList<>()).add(c);
    }
    List<List<FaultedCode>> modules = new ArrayList<>(byModule.values());
    modules.sort((a, b) -> concentrate ? b.size() - a.size() : a.size() - b.size());
    if (concentrate) {
      int fit = Math.max(1, Math.min(3, count / FAILURES_PER_PATTERN));
      List<List<FaultedCode>> big = modules.stream()
          .filter(m -> m.size() >= FAILURES_PER_PATTERN).limit(fit).toList();
      modules = big.isEmpty() ? modules.subList(0, Math.min(1, modules.size())) : big;
    }
    List<FaultedCode> out = new ArrayList<>();
    for (int i = 0; out.size() < count && !modules.isEmpty(); i++) {
      List<FaultedCode> m = modules.get(i % modules.size());
      out.add(m.get((i / modules.size()) % m.size()));
    }
    return out;
  }

  /** The module whose import a MISSING_IMPORT fault dropped ("typing", "math", ...). */
  static String missingModule(FaultedCode code) {
    String detail = code.detail();
    if (detail.contains("from typing import")) {
      return "typing";
    }
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("'import ([a-z_]+)'")
        .matcher(detail);
    return m.find() ? m.group(1) : "";
  }

  private static FaultedCode next(Map<Fault, List<FaultedCode>> pools, Map<Fault, Integer> cursor,
      Fault fault) {
    List<FaultedCode> pool = pools.get(fault);
    if (pool.isEmpty()) {
      throw new IllegalStateException("no problem admits fault " + fault);
    }
    int i = cursor.merge(fault, 1, Integer::sum) - 1;
    return pool.get(i % pool.size());
  }

  /** {@code count} faults in the given shares (largest remainder), in a fixed order. */
  static List<Fault> apportion(Map<Fault, Double> shares, int count) {
    Map<Fault, Integer> counts = new LinkedHashMap<>();
    List<Map.Entry<Fault, Double>> remainders = new ArrayList<>();
    int assigned = 0;
    for (Map.Entry<Fault, Double> e : shares.entrySet()) {
      double exact = e.getValue() * count;
      int floor = (int) Math.floor(exact);
      counts.put(e.getKey(), floor);
      assigned += floor;
      remainders.add(Map.entry(e.getKey(), exact - floor));
    }
    remainders.sort((a, b) -> Double.compare(b.getValue(), a.getValue()));
    for (int i = 0; assigned < count; i++, assigned++) {
      counts.merge(remainders.get(i % remainders.size()).getKey(), 1, Integer::sum);
    }
    List<Fault> out = new ArrayList<>();
    counts.forEach((fault, c) -> out.addAll(Collections.nCopies(c, fault)));
    return out;
  }
}
