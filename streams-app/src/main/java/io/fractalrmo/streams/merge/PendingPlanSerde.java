package io.fractalrmo.streams.merge;

import io.fractalrmo.streams.JsonSerde;
import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * {@link PendingPlan} in the merge's store and changelog as 33 bytes (a version byte and four
 * longs) instead of reflective JSON: it is written for every task and analysis the merge reads.
 * Reads the JSON of earlier releases too (it starts with '{'), so a changelog written by them
 * restores.
 */
final class PendingPlanSerde implements Serde<PendingPlan> {

  private static final byte V1 = 1;
  private static final int SIZE = 1 + 4 * Long.BYTES;
  private static final Deserializer<PendingPlan> LEGACY = JsonSerde.of(PendingPlan.class).deserializer();

  @Override
  public Serializer<PendingPlan> serializer() {
    return (topic, p) -> p == null ? null : ByteBuffer.allocate(SIZE).put(V1)
        .putLong(p.streamDeadline()).putLong(p.wallDeadline()).putLong(p.firstSeenWall())
        .putLong(p.lastEventTs()).array();
  }

  @Override
  public Deserializer<PendingPlan> deserializer() {
    return (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      if (bytes.length > 0 && bytes[0] == '{') {
        return LEGACY.deserialize(topic, bytes);
      }
      if (bytes.length != SIZE || bytes[0] != V1) {
        throw new SerializationException("not a pending plan (" + bytes.length + " bytes)");
      }
      ByteBuffer b = ByteBuffer.wrap(bytes, 1, SIZE - 1);
      return new PendingPlan(b.getLong(), b.getLong(), b.getLong(), b.getLong());
    };
  }
}
