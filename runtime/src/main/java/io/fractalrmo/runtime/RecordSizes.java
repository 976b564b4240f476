package io.fractalrmo.runtime;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Conservative upper bounds of a record's size on the wire, to check before sending: a record
 * the broker refuses ({@code RecordTooLargeException}) must be noticed before it poisons a
 * transaction. Matches what the producer itself checks against {@code max.request.size} and what
 * the broker checks against the topic's {@code max.message.bytes} (one record per batch, no
 * compression): the v2 batch header (61 bytes) plus the record with its varint framing.
 */
public final class RecordSizes {

  /** {@code max.request.size} and {@code max.message.bytes} defaults (1 MiB, 1 MiB + 12). */
  public static final int DEFAULT_MAX_REQUEST_SIZE = 1_048_576;
  static final int BATCH_OVERHEAD = 61;
  static final int RECORD_OVERHEAD = 21; // length, attributes, timestamp/offset deltas, counts

  private RecordSizes() {
  }

  public static int upperBound(byte[] key, byte[] value, Headers headers) {
    long size = BATCH_OVERHEAD + RECORD_OVERHEAD
        + (key == null ? 0 : key.length) + (value == null ? 0 : value.length);
    if (headers != null) {
      for (Header h : headers) {
        size += 10 + h.key().length() * 3L + (h.value() == null ? 0 : h.value().length);
      }
    }
    return (int) Math.min(Integer.MAX_VALUE, size);
  }
}
