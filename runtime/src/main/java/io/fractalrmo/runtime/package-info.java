/**
 * What every long-running consumer of Fractal-RMO shares: one loop skeleton
 * ({@link io.fractalrmo.runtime.ConsumeLoop}) with one failure policy — transient errors retried
 * with deadline-based, jittered backoff ({@link io.fractalrmo.runtime.RetryPolicy}); poison to the
 * DLQ through one record builder ({@link io.fractalrmo.runtime.DeadLetters}); fatal errors stop the
 * loop with its cause; a health state ({@link io.fractalrmo.runtime.HealthState}) published with
 * {@link io.fractalrmo.runtime.AgentStatusReporter} — and supervision of helper threads
 * ({@link io.fractalrmo.runtime.Supervised}). Typed, validated settings are in
 * {@link io.fractalrmo.runtime.settings}.
 *
 * <p>Three kinds of consumer fit it:
 * <ul>
 *   <li>a <b>reader</b> (no group, from the beginning: a cache, a watcher):
 *       {@link io.fractalrmo.runtime.TopicReader#loop};</li>
 *   <li>a <b>Kafka-transaction worker</b> (the agent workers' {@code TransactionalWorker}): offsets
 *       committed with {@code sendOffsetsToTransaction};</li>
 *   <li>a <b>database-transaction sink</b>: offsets stored with the rows, in one database
 *       transaction. Its processor:
 * <pre>{@code
 * class Sink implements RecordProcessor<byte[], byte[]> {
 *   // partitions paused until this succeeds; a DB outage here is retried, the others go on
 *   public void assigned(Collection<TopicPartition> tps, LoopContext<byte[], byte[]> loop)
 *       throws SQLException {
 *     for (TopicPartition tp : tps) {            // SELECT next_offset FROM sink_offsets ...
 *       OptionalLong next = storedOffset(tp);
 *       if (next.isPresent()) loop.consumer().seek(tp, next.getAsLong());
 *       else loop.consumer().seekToBeginning(List.of(tp));
 *     }
 *   }
 *   // one DB transaction per poll: rows (a row that breaks a constraint: savepoint, its record to
 *   // the DLQ via DeadLetters, send future checked before the commit), then sink_offsets, COMMIT.
 *   // A SQLException of class 08/53/57 or 40001/40P01 is transient (Failures.classify): thrown,
 *   // the loop is DEGRADED, backs off, calls recover(), polls again — nothing is lost.
 *   public void process(ConsumerRecords<byte[], byte[]> records, LoopContext<...> loop) ...
 *   // roll back, close the connection; seek each partition back to the offset last committed in
 *   // the DB (known in memory, since the DB commit is atomic) — or, when a COMMIT's outcome is
 *   // unknown, loop.reinitialize(assignment) so that assigned() reads sink_offsets again.
 *   public void recover(Throwable cause, LoopContext<...> loop) ...
 *   // nothing in flight between polls: drop the in-memory offsets of the revoked partitions
 *   public void revoked(Collection<TopicPartition> tps, boolean lost, LoopContext<...> loop) ...
 * }
 * ConsumeLoop.builder("sink-" + agentId, consumer, new Sink(...))
 *     .subscribe(topics).retry(RetryPolicy.defaults().withTimeout(dbOutageBound))
 *     .health(health).build().start();   // health.onChange(statusReporter::health)
 * }</pre></li>
 * </ul>
 */
package io.fractalrmo.runtime;
