package io.fractalrmo.agentworkers.roles;

import io.fractalrmo.agentworkers.worker.CloseOnce;
import io.fractalrmo.agentworkers.worker.TransactionalWorker;
import io.fractalrmo.agentworkers.worker.WorkerGroup;
import io.fractalrmo.contracts.AgentHealth;
import io.fractalrmo.runtime.HealthState;
import io.fractalrmo.runtime.Supervised;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A started role: its worker groups (one per analyzer aspect, one otherwise) and what they share
 * (e.g. the rule book). {@link #close()} stops the workers first, then the shared resources;
 * closing twice is harmless. As {@link Supervised} it reports the worst health of its workers:
 * FAILED as soon as one failed — the process running it then exits non-zero.
 */
public final class RunningRole implements AutoCloseable, Supervised {

  private static final Logger LOG = LoggerFactory.getLogger(RunningRole.class);

  private final CloseOnce closeOnce;

  private final String name;
  private final List<WorkerGroup> groups;
  private final List<AutoCloseable> shared;

  RunningRole(String name, List<WorkerGroup> groups, List<AutoCloseable> shared) {
    this.name = name;
    this.closeOnce = new CloseOnce(name);
    this.groups = List.copyOf(groups);
    this.shared = List.copyOf(shared);
  }

  public String name() {
    return name;
  }

  public List<WorkerGroup> groups() {
    return groups;
  }

  /** The role's rule cache, when it has one (executor, validator). */
  public java.util.Optional<io.fractalrmo.agentworkers.rules.KafkaRuleBook> ruleBook() {
    return sharedOf(io.fractalrmo.agentworkers.rules.KafkaRuleBook.class);
  }

  /** The role's sandbox, when it runs code (executor, validator). */
  public java.util.Optional<io.fractalrmo.agentworkers.sandbox.PythonSandbox> sandbox() {
    return sharedOf(io.fractalrmo.agentworkers.sandbox.PythonSandbox.class);
  }

  private <T> java.util.Optional<T> sharedOf(Class<T> type) {
    return shared.stream().filter(type::isInstance).map(type::cast).findFirst();
  }

  /** Every worker instance of the role. */
  public List<TransactionalWorker<?>> workers() {
    List<TransactionalWorker<?>> all = new ArrayList<>();
    groups.forEach(g -> all.addAll(g.workers()));
    return all;
  }

  /** True while every worker instance is running. */
  public boolean healthy() {
    return !closeOnce.isClosed() && groups.stream().allMatch(WorkerGroup::healthy);
  }

  @Override
  public HealthState.Snapshot health() {
    HealthState.Snapshot worst = null;
    for (WorkerGroup g : groups) {
      HealthState.Snapshot h = g.health();
      if (worst == null || h.health() == AgentHealth.FAILED
          || (h.health() == AgentHealth.DEGRADED && worst.health() != AgentHealth.FAILED)) {
        worst = h;
      }
    }
    return worst == null ? new HealthState().get() : worst;
  }

  @Override
  public Throwable failure() {
    for (WorkerGroup g : groups) {
      if (g.failure() != null) {
        return g.failure();
      }
    }
    return null;
  }

  /** Closes this role when the JVM is asked to stop (SIGTERM, Ctrl-C); returns this. */
  public RunningRole closeOnShutdown() {
    Runtime.getRuntime().addShutdownHook(new Thread(this::close, name + "-shutdown"));
    return this;
  }

  @Override
  public void close() {
    closeOnce.close(this::doClose);
  }

  private void doClose() {
    // Stop all groups at once (each waits for its own workers), then shared resources.
    List<Thread> stoppers = new ArrayList<>();
    for (WorkerGroup group : groups) {
      Thread t = new Thread(group::close, "stop-" + group.role());
      t.start();
      stoppers.add(t);
    }
    for (Thread t : stoppers) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (AutoCloseable resource : shared) {
      try {
        resource.close();
      } catch (Exception e) {
        LOG.warn("{}: closing {}: {}", name, resource, e.toString());
      }
    }
  }

  static RunningRole startAll(String name, List<java.util.function.Supplier<WorkerGroup>> starters,
      List<AutoCloseable> shared) {
    List<WorkerGroup> started = new ArrayList<>();
    try {
      for (java.util.function.Supplier<WorkerGroup> starter : starters) {
        started.add(starter.get());
      }
    } catch (RuntimeException e) {
      new RunningRole(name, started, shared).close();
      throw e;
    }
    return new RunningRole(name, started, shared);
  }
}
