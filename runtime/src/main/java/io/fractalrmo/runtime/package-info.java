/**
 * What every long-running consumer of Fractal-RMO shares: one loop skeleton
 * ({@link io.fractalrmo.runtime.ConsumeLoop}) with one failure policy — transient errors retried
 * with deadline-based, jittered backoff ({@link io.fractalrmo.runtime.RetryPolicy}); poison to the
 * DLQ through one record builder ({@link io.fractalrmo.runtime.DeadLetters}); fatal errors stop the
 * loop with its cause; a health state ({@link io.fractalrmo.runtime.HealthState}) — and
 * supervision of helper threads ({@link io.fractalrmo.runtime.Supervised}). Typed, validated
 * settings are in {@link io.fractalrmo.runtime.settings}.
 */
package io.fractalrmo.runtime;
