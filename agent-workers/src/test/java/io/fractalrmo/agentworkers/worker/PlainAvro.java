package io.fractalrmo.agentworkers.worker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/** Raw Avro binary without a registry: enough for the MockConsumer/MockProducer tests of the loop. */
final class PlainAvro {

  private static final byte MAGIC = 0x00;

  private PlainAvro() {
  }

  static byte[] bytes(SpecificRecord value) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.write(MAGIC);
      BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
      new SpecificDatumWriter<SpecificRecord>(value.getSchema()).write(value, encoder);
      encoder.flush();
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static OutputSerializer serializer() {
    return (topic, value) -> value == null ? null : bytes(value);
  }

  static <T extends SpecificRecord> Deserializer<T> deserializer(Class<T> type) {
    SpecificDatumReader<T> reader = new SpecificDatumReader<>(type);
    return (topic, data) -> {
      if (data == null) {
        return null;
      }
      if (data.length == 0 || data[0] != MAGIC) {
        throw new SerializationException("unknown magic byte");
      }
      try {
        return reader.read(null, DecoderFactory.get().binaryDecoder(data, 1, data.length - 1,
            null));
      } catch (IOException | RuntimeException e) {
        throw new SerializationException("not a " + type.getSimpleName() + ": " + e, e);
      }
    };
  }
}
