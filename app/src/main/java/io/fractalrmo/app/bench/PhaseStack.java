package io.fractalrmo.app.bench;

import io.fractalrmo.app.roles.Roles;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.platform.TopicProvisioner;
import io.fractalrmo.runtime.SlotLease;
import io.fractalrmo.streams.StreamsOptions;
import io.fractalrmo.streams.StreamsRole;
import io.fractalrmo.streams.StreamsSettings;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The pipeline's roles for one phase of the benchmark, on topics of their own (a fresh prefix:
 * no phase sees another's records, consumer groups or Streams state): the catalogue's topics are
 * created, then the roles start as {@code fractal up} starts them ({@link Roles#all()}, each at
 * the instance count {@code fractal up} gives it unless the phase says otherwise), and stop in
 * reverse order on {@link #close()}.
 */
final class PhaseStack implements AutoCloseable {

  static final Set<String> WORKER_ROLES = Set.of("analyzer", "executor", "validator");

  private final Endpoints endpoints;
  private final String prefix;
  private final Deque<AutoCloseable> running = new ArrayDeque<>();
  private final List<String> started = new ArrayList<>();
  private final Map<String, Object> byName = new java.util.LinkedHashMap<>();

  private PhaseStack(Endpoints endpoints, String prefix) {
    this.endpoints = endpoints;
    this.prefix = prefix;
  }

  Endpoints endpoints() {
    return endpoints;
  }

  List<String> roles() {
    return List.copyOf(started);
  }

  /** The started roles by name (for binding their metrics). */
  Map<String, Object> running() {
    return java.util.Collections.unmodifiableMap(byName);
  }

  /**
   * @param instances worker instances per worker role; 0 = as {@code fractal up} sizes them
   * @param workerSettings {@code --set} values for analyzer, executor and validator
   * @param roles which roles to start (names of {@link Roles#all()})
   * @param streamsSettings for a streams role with other tunables; empty = as {@code fractal up}
   */
  static PhaseStack start(String bootstrap, String registry, Optional<String> jdbc, String prefix,
      Path stateDir, int instances, Map<String, String> workerSettings, Set<String> roles,
      Optional<StreamsSettings> streamsSettings) {
    Endpoints endpoints = new Endpoints(bootstrap, registry, jdbc, TopicCatalog.withPrefix(prefix));
    TopicProvisioner.provision(bootstrap, endpoints.topics(), (short) -1);
    PhaseStack stack = new PhaseStack(endpoints, prefix);
    List<Roles.Role> chosen = Roles.all().stream().filter(r -> roles.contains(r.name()))
        .filter(r -> !r.needsDatabase() || jdbc.isPresent()).toList();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, chosen.size()), r -> {
      Thread t = new Thread(r, "fractal-bench-role-start");
      t.setDaemon(true);
      return t;
    });
    try {
      List<CompletableFuture<AutoCloseable>> futures = new ArrayList<>();
      for (Roles.Role role : chosen) {
        futures.add(CompletableFuture.supplyAsync(() -> {
          try {
            if (role.name().equals("streams") && streamsSettings.isPresent()) {
              return StreamsRole.start(endpoints, StreamsOptions.defaults(stateDir.resolve("streams"))
                  .withSettings(streamsSettings.get()));
            }
            int n = instances > 0 ? instances : Roles.defaultInstances(role.name());
            Map<String, String> values = WORKER_ROLES.contains(role.name()) ? workerSettings
                : role.name().equals("sink") ? Map.of("group.id", prefix + "fractal-sink")
                : Map.of();
            return role.starter().start(endpoints,
                new Roles.Settings(n, Optional.empty(), values, stateDir));
          } catch (Exception e) {
            throw new IllegalStateException("role " + role.name() + " did not start: "
                + e.getMessage(), e);
          }
        }, pool));
      }
      RuntimeException failure = null;
      for (int i = 0; i < chosen.size(); i++) {
        try {
          AutoCloseable role = futures.get(i).join();
          stack.running.push(role);
          stack.started.add(chosen.get(i).name());
          stack.byName.put(chosen.get(i).name(), role);
        } catch (CompletionException e) {
          failure = failure != null ? failure : e.getCause() instanceof RuntimeException r ? r
              : new IllegalStateException(e.getCause());
        }
      }
      if (failure != null) {
        stack.close();
        throw failure;
      }
      return stack;
    } finally {
      pool.shutdown();
    }
  }

  /**
   * Stops every role at once, as {@code fractal up} does (they are independent of each other;
   * one after another, each Streams close and consumer-group leave added a second or more to
   * every phase), and returns when all have stopped — then removes the instance-slot scopes of
   * the phase's consumer groups (its prefix is its own, so nobody takes those slots again; one
   * full bench left 42 directories in the slot directory before).
   */
  @Override
  public void close() {
    List<Thread> stopping = new ArrayList<>();
    while (!running.isEmpty()) {
      AutoCloseable role = running.pop();
      Thread t = new Thread(() -> {
        try {
          role.close();
        } catch (Exception e) {
          // best effort: the next phase has topics of its own
        }
      }, "fractal-bench-role-stop");
      t.setDaemon(true);
      t.start();
      stopping.add(t);
    }
    boolean interrupted = false;
    for (Thread t : stopping) {
      while (t.isAlive()) {
        try {
          t.join();
        } catch (InterruptedException e) {
          interrupted = true; // the roles still stop; the interrupt is kept for the caller
        }
      }
    }
    SlotLease.deleteScopes(SlotLease.defaultDirectory(), prefix);
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
