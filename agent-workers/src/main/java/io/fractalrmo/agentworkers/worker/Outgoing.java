package io.fractalrmo.agentworkers.worker;

import org.apache.avro.specific.SpecificRecord;

/** One record a handler wants produced, in the same transaction as the consumed offset. */
public record Outgoing(String topic, String key, SpecificRecord value) {}
