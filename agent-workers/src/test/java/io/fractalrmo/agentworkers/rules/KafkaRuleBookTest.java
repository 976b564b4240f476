package io.fractalrmo.agentworkers.rules;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The rule book against the real compacted rules topic: follows changes, rebuilds on restart. */
class KafkaRuleBookTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static TestStack stack;

  private Endpoints endpoints;
  private KafkaProducer<String, byte[]> producer;
  private Serializer<ProtocolRule> serializer;

  @BeforeAll
  static void startStack() {
    stack = TestStack.shared();
  }

  @BeforeEach
  void setUp() {
    endpoints = stack.newEndpoints();
    producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all"),
        new StringSerializer(), new ByteArraySerializer());
    serializer = FractalSerdes.value(ProtocolRule.class, stack.serdeConfig()).serializer();
  }

  @AfterEach
  void tearDown() {
    producer.close();
  }

  private void publish(String id, RuleStatus status, int version) throws Exception {
    String topic = endpoints.topics().protocolRules().name();
    ProtocolRule rule = Mothers.aRule().setRuleId(id).setStatus(status).setVersion(version).build();
    producer.send(new ProducerRecord<>(topic, id, serializer.serialize(topic, rule))).get();
  }

  private void tombstone(String id) throws Exception {
    producer.send(new ProducerRecord<>(endpoints.topics().protocolRules().name(), id, null)).get();
  }

  private static List<String> activeIds(RuleBook book) {
    return book.activeRules().stream().map(r -> r.getRuleId().toString()).toList();
  }

  @Test
  void shouldFollowRulesAsTheyBecomeActiveRetireAndAreTombstoned() throws Exception {
    try (KafkaRuleBook book = KafkaRuleBook.start(endpoints, stack.serdeConfig())) {
      assertThat(book.awaitCaughtUp(WAIT)).isTrue();
      assertThat(book.activeRules()).isEmpty();

      publish("r1", RuleStatus.ACTIVE, 1);
      publish("r2", RuleStatus.CANDIDATE, 1);
      Eventually.await(WAIT, () -> book.allRules().size() == 2, () -> "both rules seen");
      assertThat(activeIds(book)).containsExactly("r1");

      publish("r1", RuleStatus.RETIRED, 2);
      publish("r2", RuleStatus.ACTIVE, 2);
      Eventually.await(WAIT, () -> activeIds(book).equals(List.of("r2")),
          () -> "r1 retired, r2 active: " + activeIds(book));

      tombstone("r2");
      Eventually.await(WAIT, () -> !book.allRules().containsKey("r2"), () -> "r2 tombstoned");
      assertThat(book.activeRules()).isEmpty();
      assertThat(book.allRules()).containsOnlyKeys("r1");
    }
  }

  @Test
  void shouldRebuildFromTheTopicWhenRestarted() throws Exception {
    publish("r3", RuleStatus.ACTIVE, 1);
    publish("r4", RuleStatus.ACTIVE, 1);
    publish("r5", RuleStatus.CANDIDATE, 1);
    tombstone("r4");
    publish("r5", RuleStatus.ACTIVE, 2);
    try (KafkaRuleBook first = KafkaRuleBook.start(endpoints, stack.serdeConfig())) {
      assertThat(first.awaitCaughtUp(WAIT)).isTrue();
      assertThat(activeIds(first)).containsExactly("r3", "r5");
    }
    publish("r3", RuleStatus.RETIRED, 2);

    try (KafkaRuleBook restarted = KafkaRuleBook.start(endpoints, stack.serdeConfig())) {
      assertThat(restarted.awaitCaughtUp(WAIT)).isTrue();
      // Caught up means everything published before the start is in: no further waiting.
      assertThat(activeIds(restarted)).containsExactly("r5");
      assertThat(restarted.allRules().get("r5").getVersion()).isEqualTo(2);
    }
  }

  @Test
  void shouldSkipARecordThatDoesNotDeserializeAndKeepFollowing() throws Exception {
    String topic = endpoints.topics().protocolRules().name();
    producer.send(new ProducerRecord<>(topic, "junk", new byte[] {1, 2, 3})).get();
    publish("r6", RuleStatus.ACTIVE, 1);
    try (KafkaRuleBook book = KafkaRuleBook.start(endpoints, stack.serdeConfig())) {
      assertThat(book.awaitCaughtUp(WAIT)).isTrue();
      assertThat(activeIds(book)).containsExactly("r6");
      assertThat(book.failure()).isNull();
    }
  }
}
