package io.fractalrmo.registry.serde;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Confluent's Protobuf message indexes, written after the 5-byte header: the path to the message
 * type in its .proto file (index among top-level messages, then among nested ones) as a count and
 * that many indexes, each a zig-zag varint; the common first message, {@code [0]}, is the single
 * byte 0 (a count of 0).
 */
public final class MessageIndexes {

  private MessageIndexes() {
  }

  public static byte[] encode(List<Integer> indexes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(8);
    if (indexes.size() == 1 && indexes.get(0) == 0) {
      writeVarint(0, out);
      return out.toByteArray();
    }
    writeVarint(indexes.size(), out);
    for (int i : indexes) {
      writeVarint(i, out);
    }
    return out.toByteArray();
  }

  /** Reads the indexes at {@code buffer}'s position, advancing it. */
  public static List<Integer> decode(ByteBuffer buffer) {
    int count = readVarint(buffer);
    if (count == 0) {
      return List.of(0);
    }
    if (count < 0 || count > 100) {
      throw new SerializationException("invalid message index count " + count
          + ": not a Protobuf record in Confluent's wire format");
    }
    List<Integer> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(readVarint(buffer));
    }
    return out;
  }

  static void writeVarint(int value, ByteArrayOutputStream out) {
    int v = (value << 1) ^ (value >> 31); // zig-zag
    while ((v & 0xFFFFFF80) != 0) {
      out.write((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out.write(v);
  }

  static int readVarint(ByteBuffer buffer) {
    int value = 0;
    int shift = 0;
    while (true) {
      if (!buffer.hasRemaining()) {
        throw new SerializationException("truncated message indexes");
      }
      byte b = buffer.get();
      value |= (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        break;
      }
      shift += 7;
      if (shift > 28) {
        throw new SerializationException("message index varint too long");
      }
    }
    return (value >>> 1) ^ -(value & 1);
  }
}
