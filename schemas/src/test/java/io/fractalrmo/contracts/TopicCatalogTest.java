package io.fractalrmo.contracts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TopicCatalogTest {

  @Test
  void compactedTopicsAreExactlyRulesTaskStatusAndAgentStatus() {
    assertThat(TopicCatalog.defaults().all().stream().filter(TopicSpec::compacted)
        .map(TopicSpec::name))
        .containsExactlyInAnyOrder("fractal.protocol-rules", "fractal.task-status",
            "fractal.agent-status");
  }

  @Test
  void prefixAppliesToEveryTopicAndSubject() {
    TopicCatalog catalog = TopicCatalog.withPrefix("tenant-a.");
    assertThat(catalog.all()).allSatisfy(t -> assertThat(t.name()).startsWith("tenant-a.fractal."));
    assertThat(catalog.tasks().valueSubject()).isEqualTo("tenant-a.fractal.tasks-value");
    assertThat(catalog.tasks().baseName()).isEqualTo("fractal.tasks");
  }

  @Test
  void rejectsAPrefixKafkaWouldRefuse() {
    assertThatThrownBy(() -> TopicCatalog.withPrefix("bad prefix/"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prefix");
  }

  @Test
  void compactedTopicsCarryNoRetentionAndDeleteTopicsDo() {
    TopicCatalog catalog = TopicCatalog.defaults();
    assertThat(catalog.protocolRules().configs()).containsEntry("cleanup.policy", "compact")
        .doesNotContainKey("retention.ms");
    assertThat(catalog.tasks().configs()).containsEntry("cleanup.policy", "delete")
        .containsKey("retention.ms");
  }

  @Test
  void dlqCarriesRawBytes() {
    assertThat(TopicCatalog.defaults().dlq().valueSchema()).isEmpty();
  }
}
