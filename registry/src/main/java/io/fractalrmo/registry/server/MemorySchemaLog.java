package io.fractalrmo.registry.server;

import java.util.function.BiConsumer;
import java.util.function.Supplier;

/** A log kept in memory only: one instance, nothing survives close. For tests and benchmarks. */
final class MemorySchemaLog implements SchemaLog {

  private BiConsumer<String, String> applier;

  @Override
  public void start(BiConsumer<String, String> applier) {
    this.applier = applier;
  }

  @Override
  public void awaitCaughtUp() {
    // every write is applied before writeExclusive returns
  }

  @Override
  public synchronized <R> R writeExclusive(Supplier<Decision<R>> decide) {
    Decision<R> d = decide.get();
    for (Entry e : d.entries()) {
      applier.accept(e.key(), e.value());
    }
    return d.result();
  }

  @Override
  public void close() {
  }
}
