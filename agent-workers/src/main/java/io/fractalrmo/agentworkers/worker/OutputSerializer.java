package io.fractalrmo.agentworkers.worker;

import org.apache.avro.specific.SpecificRecord;

/** Turns a handler's output value into the bytes written to a topic (Avro, Confluent format). */
@FunctionalInterface
public interface OutputSerializer {
  byte[] serialize(String topic, SpecificRecord value);
}
