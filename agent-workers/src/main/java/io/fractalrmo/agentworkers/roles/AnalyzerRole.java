package io.fractalrmo.agentworkers.roles;

import io.fractalrmo.agentworkers.analyzer.AspectAnalyzer;
import io.fractalrmo.agentworkers.analyzer.PythonAnalysisHelper;
import io.fractalrmo.agentworkers.analyzer.SharedAnalyses;
import io.fractalrmo.agentworkers.bench.ZeroCost;
import io.fractalrmo.agentworkers.worker.WorkerGroup;
import io.fractalrmo.agentworkers.worker.WorkerSpec;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.InputLimits;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.runtime.settings.Settings;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The analyzer swarm: for each aspect (one, or all five) {@code instances} workers in the group
 * {@code fractal-analyzer-<aspect>} on {@code fractal.tasks}, so every task is analysed by every
 * aspect and each aspect scales on its own. The aspects of a process share one analysis per task
 * ({@link SharedAnalyses}: one helper request, one parse of the code, tests and program) on one
 * Python analysis helper process per instance.
 *
 * <p>Settings: {@code limits.*} ({@link InputLimits#SETTINGS}); {@value ZeroCost#SETTING}
 * (default false: benchmark mode, every task answered at once without analysis, see
 * {@link ZeroCost}).
 */
public final class AnalyzerRole {

  public static final String NAME = "analyzer";

  private AnalyzerRole() {
  }

  /** The five aspects of the swarm. */
  public static List<Aspect> aspects() {
    return Arrays.stream(Aspect.values()).filter(a -> a != Aspect.UNKNOWN).toList();
  }

  public static String groupId(TopicCatalog catalog, Aspect aspect) {
    return RoleSupport.groupId(catalog, "analyzer-" + aspect.name().toLowerCase(Locale.ROOT));
  }

  /** Starts the analyzers and returns once every worker has joined its group. */
  public static RunningRole start(Endpoints endpoints, RoleOptions options) {
    Settings settings = RoleSettings.analyzer().parse(options.settings());
    Map<String, Object> serdes = RoleSupport.serdeConfig(endpoints, settings);
    RoleSupport.InstanceResources helpers = new RoleSupport.InstanceResources();
    List<Aspect> aspects = options.aspect().map(List::of).orElseGet(AnalyzerRole::aspects);
    List<Supplier<WorkerGroup>> starters = new ArrayList<>();
    InputLimits limits = RoleSettings.inputLimits(settings);
    boolean zeroCost = settings.getBoolean(ZeroCost.SETTING);
    // one analysis per task for every aspect of this process, on one helper per handler slot
    SharedAnalyses shared = zeroCost ? null : helpers.add(new SharedAnalyses(
        java.util.EnumSet.copyOf(aspects),
        options.instances() * settings.getInt(RoleSettings.CONCURRENCY), PythonAnalysisHelper::new));
    for (Aspect aspect : aspects) {
      String role = NAME + "-" + aspect.name().toLowerCase(Locale.ROOT);
      WorkerSpec<Task> spec = options.applyTo(WorkerSpec.of(role, NAME,
          groupId(endpoints.topics(), aspect), endpoints.topics().tasks().name(), Task.class,
          agentId -> zeroCost
              ? ZeroCost.analyzer(aspect, agentId, endpoints.topics(), Clock.systemUTC())
              : new AspectAnalyzer(aspect, agentId, endpoints.topics(), shared,
                  Clock.systemUTC(), limits)), settings);
      starters.add(() -> WorkerGroup.start(endpoints, spec, options.instances(), serdes));
    }
    String name = options.aspect().map(a -> NAME + "-" + a.name().toLowerCase(Locale.ROOT))
        .orElse(NAME);
    return RunningRole.startAll(name, starters, List.of(helpers));
  }
}
