package io.fractalrmo.registry.server;

import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * Where the registry's records live. Every instance applies the same records in the same order,
 * so every instance computes the same state; writes are made by one writer at a time, each
 * decided on the complete state (see {@link KafkaSchemaLog} for how that holds across instances).
 */
interface SchemaLog extends AutoCloseable {

  /** A key/value record (JSON strings; a null value is a tombstone). */
  record Entry(String key, String value) {
  }

  /** What a write decided: the records to append (possibly none) and the answer to return. */
  record Decision<R>(List<Entry> entries, R result) {
  }

  /** Replays everything stored into {@code applier}, then keeps applying new records; returns when caught up. */
  void start(BiConsumer<String, String> applier);

  /** Returns once every record committed before the call has been applied. */
  void awaitCaughtUp();

  /**
   * Runs {@code decide} on the caught-up state as the single writer, appends its entries, and
   * returns once they are applied. {@code decide} may be called again if another writer
   * intervened; it may throw {@link RegistryException} to refuse.
   */
  <R> R writeExclusive(Supplier<Decision<R>> decide);

  @Override
  void close();
}
