package io.fractalrmo.agentworkers.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.agentworkers.roles.RoleCatalog;
import io.fractalrmo.agentworkers.testing.ChildRoleMain;
import io.fractalrmo.agentworkers.testing.ChildWorkerMain;
import io.fractalrmo.agentworkers.testing.Eventually;
import io.fractalrmo.agentworkers.testing.FlakyProxy;
import io.fractalrmo.agentworkers.testing.KafkaTestSupport;
import io.fractalrmo.agentworkers.worker.KafkaClientConfigs;
import io.fractalrmo.agentworkers.worker.WorkerGroup;
import io.fractalrmo.contracts.AgentHealth;
import io.fractalrmo.contracts.AgentStatus;
import io.fractalrmo.contracts.Endpoints;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.serde.FractalSerdes;
import io.fractalrmo.registry.testing.TestStack;
import io.fractalrmo.runtime.RetryPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Rules are never silently missing, against the real broker and registry: a registry outage while
 * the rule cache starts (the cache retries the records it cannot read, it does not skip them), an
 * executor that does not take work while its cache has not caught up, and a follower thread that
 * crashes (the workers using the cache fail with its cause).
 */
class RuleCacheFaultsTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final TestStack stack = TestStack.shared();
  @RegisterExtension
  static final KafkaTestSupport kafka = new KafkaTestSupport(stack.bootstrapServers());

  private static void publish(Endpoints endpoints, String id, RuleStatus status) throws Exception {
    String topic = endpoints.topics().protocolRules().name();
    Serializer<ProtocolRule> serializer =
        FractalSerdes.value(ProtocolRule.class, stack.serdeConfig()).serializer();
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(
        Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all"),
        new StringSerializer(), new ByteArraySerializer())) {
      ProtocolRule rule = Mothers.aRule().setRuleId(id).setStatus(status).build();
      producer.send(new ProducerRecord<>(topic, id, serializer.serialize(topic, rule))).get();
    }
  }

  private static int members(String group) throws InterruptedException {
    try {
      return kafka.admin().describeConsumerGroups(List.of(group)).all().get().get(group)
          .members().size();
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException) {
        return 0; // never joined by anyone
      }
      throw new IllegalStateException(e);
    }
  }

  private static KafkaConsumer<String, byte[]> reader() {
    return new KafkaConsumer<>(KafkaClientConfigs.assignedReader(stack.bootstrapServers(),
        "rule-book-" + UUID.randomUUID()));
  }

  @Test
  void shouldReadTheRulesItCouldNotReadWhileTheRegistryWasDownAtStart() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    publish(endpoints, "r-outage", RuleStatus.ACTIVE);
    try (FlakyProxy registry = FlakyProxy.to(stack.schemaRegistryUrl(), false)) {
      Deserializer<ProtocolRule> deserializer = FractalSerdes.value(ProtocolRule.class,
          FractalSerdes.config(registry.url())).deserializer();
      try (KafkaRuleBook book = new KafkaRuleBook(reader(),
          endpoints.topics().protocolRules().name(), deserializer,
          new RetryPolicy(Duration.ofMillis(20), Duration.ofMillis(200), WAIT))) {
        Eventually.await(WAIT, () -> registry.refused() > 0
                && book.health().health() == AgentHealth.DEGRADED,
            () -> "the cache retries while the registry is down: " + book.describe());
        assertThat(book.isCaughtUp()).isFalse();
        assertThat(book.activeRules()).as("not skipped, not applied yet").isEmpty();
        assertThat(book.lag()).as("it says how far behind it is").isEqualTo(1);

        registry.up();

        assertThat(book.awaitCaughtUp(WAIT)).isTrue();
        assertThat(book.activeRules()).extracting(r -> r.getRuleId()).containsExactly("r-outage");
        assertThat(book.unreadable()).isEmpty();
        Eventually.await(WAIT, () -> book.health().health() == AgentHealth.RUNNING,
            () -> "running again: " + book.describe());
        assertThat(book.failure()).isNull();
      }
    }
  }

  @Test
  void shouldNotLetTheExecutorTakeWorkWhileItsRuleCacheCannotCatchUp() throws Exception {
    Endpoints real = stack.newEndpoints();
    publish(real, "r-blocked-start", RuleStatus.ACTIVE);
    try (FlakyProxy registry = FlakyProxy.to(stack.schemaRegistryUrl(), false)) {
      Endpoints throughProxy = new Endpoints(real.bootstrapServers(), registry.url(),
          Optional.empty(), real.topics());

      assertThatThrownBy(() -> RoleCatalog.start("executor", throughProxy,
          ChildRoleMain.killableOptions().withSettings(Map.of("rules.catch-up-timeout", "3s"))))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("rule cache did not read every protocol rule within 3 s")
          .hasMessageContaining("1 record(s) behind")
          .hasMessageContaining("does not take work");
    }
    String group = real.topics().prefix() + "fractal-executor";
    assertThat(members(group)).as("no executor joined the group").isZero();
  }

  @Test
  void shouldFailTheWorkersUsingTheCacheWhenItsFollowerThreadCrashes() throws Exception {
    Endpoints endpoints = stack.newEndpoints();
    publish(endpoints, "r-crash", RuleStatus.ACTIVE);
    AtomicBoolean crash = new AtomicBoolean();
    KafkaConsumer<String, byte[]> crashing = new KafkaConsumer<>(
        KafkaClientConfigs.assignedReader(stack.bootstrapServers(), "rule-book-crashing")) {
      @Override
      public ConsumerRecords<String, byte[]> poll(Duration timeout) {
        if (crash.get()) {
          throw new IllegalStateException("the follower hit a bug");
        }
        return super.poll(timeout);
      }
    };
    String output = endpoints.topics().prefix() + "test.echo";
    kafka.createTopic(output, 1);
    try (KafkaRuleBook book = new KafkaRuleBook(crashing,
        endpoints.topics().protocolRules().name(),
        FractalSerdes.value(ProtocolRule.class, stack.serdeConfig()).deserializer())) {
      assertThat(book.awaitCaughtUp(WAIT)).isTrue();
      try (WorkerGroup workers = WorkerGroup.start(endpoints,
          ChildWorkerMain.echoSpec(endpoints, output, endpoints.topics().prefix() + "fractal-echo",
              0).withSupervised(List.of(book)).withHeartbeatInterval(Duration.ofMillis(500)),
          1, stack.serdeConfig())) {
        String agentId = workers.workers().get(0).agentId();
        assertThat(workers.health().health()).isNotEqualTo(AgentHealth.FAILED);

        crash.set(true);

        Eventually.await(WAIT, () -> book.health().health() == AgentHealth.FAILED,
            () -> "the follower failed: " + book.describe());
        Eventually.await(WAIT, () -> workers.health().health() == AgentHealth.FAILED,
            () -> "the worker noticed: " + workers.health());
        assertThat(workers.failure()).isInstanceOf(IllegalStateException.class)
            .hasMessage("the follower hit a bug");
        assertThat(workers.health().reason()).contains("rule cache");
        Deserializer<AgentStatus> statuses =
            FractalSerdes.value(AgentStatus.class, stack.serdeConfig()).deserializer();
        String topic = endpoints.topics().agentStatus().name();
        Eventually.await(WAIT, () -> kafka.readCommitted(topic).stream()
                .filter(r -> agentId.equals(r.key()))
                .map(r -> statuses.deserialize(topic, r.value()))
                .anyMatch(s -> s.getHealth() == AgentHealth.FAILED
                    && s.getHealthReason().contains("rule cache")),
            () -> "FAILED published on the agent-status topic");
      }
    }
  }
}
