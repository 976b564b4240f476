package io.fractalrmo.registry.serde;

import java.io.OutputStream;
import java.util.Arrays;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;

/**
 * Per-thread buffers reused across records so the fast path allocates only the result array:
 * an unsynchronized growable output, and Avro's encoder and decoder (both are reusable).
 */
final class Scratch {

  private static final ThreadLocal<Scratch> CURRENT = ThreadLocal.withInitial(Scratch::new);

  final Output out = new Output();
  BinaryEncoder encoder;
  BinaryDecoder decoder;

  static Scratch get() {
    return CURRENT.get();
  }

  /** A ByteArrayOutputStream without locks; large buffers are dropped so a thread keeps at most 1 MiB. */
  static final class Output extends OutputStream {
    private static final int KEEP_MAX = 1 << 20;
    private byte[] buf = new byte[1024];
    private int count;

    void reset() {
      if (buf.length > KEEP_MAX) {
        buf = new byte[1024];
      }
      count = 0;
    }

    @Override
    public void write(int b) {
      ensure(count + 1);
      buf[count++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      ensure(count + len);
      System.arraycopy(b, off, buf, count, len);
      count += len;
    }

    void writeInt(int v) {
      ensure(count + 4);
      buf[count++] = (byte) (v >>> 24);
      buf[count++] = (byte) (v >>> 16);
      buf[count++] = (byte) (v >>> 8);
      buf[count++] = (byte) v;
    }

    byte[] toByteArray() {
      return Arrays.copyOf(buf, count);
    }

    private void ensure(int needed) {
      if (needed > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(needed, buf.length * 2));
      }
    }
  }
}
