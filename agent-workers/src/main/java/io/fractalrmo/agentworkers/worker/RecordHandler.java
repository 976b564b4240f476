package io.fractalrmo.agentworkers.worker;

import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * Pure per-record logic of a worker role: no Kafka inside. The worker loop produces the returned
 * records and commits the consumed offset in one transaction.
 */
public interface RecordHandler<V extends SpecificRecord> {
  List<Outgoing> handle(String key, V value) throws Exception;
}
