package io.fractalrmo.streams.patterns;

import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.streams.StreamsSettings;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts, per pattern key, the events the window aggregation will drop as too late: those whose
 * latest window ({@code start = floor(ts / advance) × advance}) ended at or before
 * {@code stream time − grace}, the rule Streams' window aggregation applies. Every record is
 * forwarded unchanged; the count appears as {@code late_events} on the key's next pattern.
 */
final class LateEventCounter implements FixedKeyProcessor<String, ErrorEvent, ErrorEvent> {

  private static final Logger LOG = LoggerFactory.getLogger(LateEventCounter.class);

  private final long size;
  private final long advance;
  private final long grace;
  private FixedKeyProcessorContext<String, ErrorEvent> context;
  private KeyValueStore<String, Long> late;

  LateEventCounter(StreamsSettings.Patterns settings) {
    this.size = settings.windowSize().toMillis();
    this.advance = settings.advance().toMillis();
    this.grace = settings.grace().toMillis();
  }

  @Override
  public void init(FixedKeyProcessorContext<String, ErrorEvent> context) {
    this.context = context;
    this.late = context.getStateStore(PatternTopology.LATE_STORE);
  }

  @Override
  public void process(FixedKeyRecord<String, ErrorEvent> record) {
    if (tooLate(record.timestamp(), context.currentStreamTimeMs())) {
      Long before = late.get(record.key());
      long now = (before == null ? 0 : before) + 1;
      late.put(record.key(), now);
      LOG.info("error event {} for {} is later than the grace of {} ms: not counted in any "
          + "window ({} late for this key so far)", record.value().getErrorId(), record.key(),
          grace, now);
    }
    context.forward(record);
  }

  boolean tooLate(long ts, long streamTime) {
    long lastWindowEnd = Math.floorDiv(ts, advance) * advance + size;
    return lastWindowEnd <= streamTime - grace;
  }
}
