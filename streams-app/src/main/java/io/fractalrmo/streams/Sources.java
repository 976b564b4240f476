package io.fractalrmo.streams;

import io.fractalrmo.contracts.TopicSpec;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The input streams of one {@link StreamsBuilder}: a topic is a source once, however many
 * features read it (Streams refuses a topic registered twice), named {@code source-<base name>}
 * so the node names do not change with a tenant prefix.
 */
public final class Sources {

  private final StreamsBuilder builder;
  private final RecordSerdes serdes;
  private final Map<String, KStream<String, ?>> streams = new HashMap<>();
  private final CommitPacer pacer = CommitPacer.defaults();

  public Sources(StreamsBuilder builder, RecordSerdes serdes) {
    this.builder = builder;
    this.serdes = serdes;
  }

  public StreamsBuilder builder() {
    return builder;
  }

  public RecordSerdes serdes() {
    return serdes;
  }

  /** The commit requests of this topology's processors, paced (one pacer per topology). */
  public CommitPacer pacer() {
    return pacer;
  }

  @SuppressWarnings("unchecked")
  public <T extends SpecificRecord> KStream<String, T> stream(TopicSpec topic, Class<T> type) {
    return (KStream<String, T>) streams.computeIfAbsent(topic.name(), name -> builder.stream(name,
        Consumed.with(Serdes.String(), serdes.value(type)).withName("source-" + topic.baseName())));
  }

  /** Produced with string keys, the record's serde and a stable name. */
  public <T extends SpecificRecord> Produced<String, T> produced(Class<T> type, String name) {
    return Produced.with(Serdes.String(), serdes.value(type)).withName(name);
  }

  /** Views a typed stream as a stream of records, without adding a node (for merge()). */
  @SuppressWarnings("unchecked")
  public static KStream<String, SpecificRecord> records(KStream<String, ? extends SpecificRecord> s) {
    return (KStream<String, SpecificRecord>) (KStream<String, ?>) s;
  }
}
