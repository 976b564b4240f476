package io.fractalrmo.streams;

import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorSupplier;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;

/**
 * Passes records on unchanged and asks for a commit ({@link CommitPacer}): placed before a
 * repartition whose records a next step of this app waits for, so that they become readable
 * (their transaction committed) after this processing iteration instead of at the commit
 * interval — each such internal hop otherwise adds up to {@code commit.interval.ms}.
 */
public final class CommitSoon<K, V> implements FixedKeyProcessor<K, V, V> {

  private final CommitPacer pacer;
  private FixedKeyProcessorContext<K, V> context;

  private CommitSoon(CommitPacer pacer) {
    this.pacer = pacer;
  }

  public static <K, V> FixedKeyProcessorSupplier<K, V, V> supplier(CommitPacer pacer) {
    return () -> new CommitSoon<>(pacer);
  }

  @Override
  public void init(FixedKeyProcessorContext<K, V> context) {
    this.context = context;
  }

  @Override
  public void process(FixedKeyRecord<K, V> record) {
    context.forward(record);
    pacer.outputReady(context);
  }
}
