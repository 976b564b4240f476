package io.fractalrmo.runtime;

import java.util.Base64;
import java.util.BitSet;
import java.util.Collection;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * The offsets finished out of order above a partition's committed offset, carried in the
 * committed offset's metadata (parallel-consumer's approach): the committed offset is the lowest
 * offset not finished; the metadata says which later ones are finished too, so that whoever
 * resumes the partition skips them. Format: {@code fr1:} + base64url of a bitset whose bit
 * {@code i} is offset {@code committed + 1 + i}. The span above the committed offset is bounded by
 * {@link #MAX_SPAN} so the metadata stays far below the broker's {@code offset.metadata.max.bytes}
 * (4096 by default): at most {@value #MAX_SPAN} bits = 2 KiB, 2 732 characters in base64.
 */
public final class CompletedOffsets {

  public static final String PREFIX = "fr1:";
  /** Offsets above the committed one that may be finished (and so encoded). */
  public static final int MAX_SPAN = 16_384;

  private CompletedOffsets() {
  }

  /**
   * Encodes {@code finished} (offsets greater than {@code committed} and below
   * {@code committed + 1 + MAX_SPAN}); "" when there are none.
   *
   * @throws IllegalArgumentException for an offset outside that span (a bug of the caller: it
   *     must not finish work beyond the span)
   */
  public static String encode(long committed, Collection<Long> finished) {
    if (finished.isEmpty()) {
      return "";
    }
    return encode(committed, finished, null);
  }

  /** As {@link #encode(long, Collection)}, naming the committing instance ({@code owner}). */
  public static String encode(long committed, Collection<Long> finished, String owner) {
    BitSet bits = new BitSet();
    for (long o : finished) {
      long i = o - committed - 1;
      if (i < 0 || i >= MAX_SPAN) {
        throw new IllegalArgumentException("offset " + o + " is outside the span above "
            + committed);
      }
      bits.set((int) i);
    }
    return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bits.toByteArray())
        + (owner == null || owner.isEmpty() ? "" : "@" + owner);
  }

  /** The instance that wrote {@code metadata}, when it says. */
  public static java.util.Optional<String> owner(String metadata) {
    if (metadata == null || !metadata.startsWith(PREFIX)) {
      return java.util.Optional.empty();
    }
    int at = metadata.indexOf('@');
    return at < 0 || at == metadata.length() - 1 ? java.util.Optional.empty()
        : java.util.Optional.of(metadata.substring(at + 1));
  }

  /**
   * The finished offsets above {@code committed} in {@code metadata}; empty for empty metadata.
   *
   * @throws IllegalArgumentException for metadata in another format (someone else's commit)
   */
  public static NavigableSet<Long> decode(long committed, String metadata) {
    NavigableSet<Long> out = new TreeSet<>();
    if (metadata == null || metadata.isEmpty()) {
      return out;
    }
    if (!metadata.startsWith(PREFIX)) {
      throw new IllegalArgumentException("offset metadata not written by a Fractal worker: "
          + (metadata.length() > 40 ? metadata.substring(0, 40) + "..." : metadata));
    }
    int at = metadata.indexOf('@');
    String encoded = metadata.substring(PREFIX.length(), at < 0 ? metadata.length() : at);
    BitSet bits = BitSet.valueOf(Base64.getUrlDecoder().decode(encoded));
    for (int i = bits.nextSetBit(0); i >= 0; i = bits.nextSetBit(i + 1)) {
      out.add(committed + 1 + i);
    }
    return out;
  }
}
