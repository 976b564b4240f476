/**
 * One trace per task: W3C trace context in Kafka record headers, hops as OpenTelemetry spans
 * ({@link io.fractalrmo.runtime.trace.Tracing}, {@link io.fractalrmo.runtime.trace.Hop}), and the
 * hop record every output carries so that a trace can be rebuilt from the topics
 * ({@link io.fractalrmo.runtime.trace.SpanRecord}).
 */
package io.fractalrmo.runtime.trace;
