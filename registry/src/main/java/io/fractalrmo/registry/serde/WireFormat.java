package io.fractalrmo.registry.serde;

/** Confluent's framing: magic byte 0x00, 4-byte big-endian schema id, then the Avro binary body. */
public final class WireFormat {

  public static final byte MAGIC_BYTE = 0x0;
  public static final int HEADER_SIZE = 5;

  private WireFormat() {
  }

  /** The schema id of a framed record; the caller has checked length and magic byte. */
  public static int schemaId(byte[] data) {
    return ((data[1] & 0xff) << 24) | ((data[2] & 0xff) << 16) | ((data[3] & 0xff) << 8) | (data[4] & 0xff);
  }
}
