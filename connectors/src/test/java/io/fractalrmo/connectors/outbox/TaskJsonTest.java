package io.fractalrmo.connectors.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.contracts.Task;
import io.fractalrmo.contracts.testing.Mothers;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TaskJsonTest {

  private static final Instant NOW = Instant.parse("2026-11-25T15:00:00Z");

  @Test
  void shouldReadBackWhatItWrites() throws Exception {
    Task task = Mothers.aTask().setMemoryLimitMb(256).setAttributes(Map.of("team", "a")).build();
    assertThat(TaskJson.parse(TaskJson.toJson(task), task.getTaskId(), "outbox", NOW))
        .isEqualTo(task);
  }

  @Test
  void shouldFillDefaultsFromTheOutboxRow() throws Exception {
    Task task = TaskJson.parse("{\"description\": \"d\"}", "agg-1", "outbox", NOW);
    assertThat(task.getTaskId()).isEqualTo("agg-1");
    assertThat(task.getSource()).isEqualTo("outbox");
    assertThat(task.getSubmittedAt()).isEqualTo(NOW);
    assertThat(task.getPriority()).isEqualTo(3);
    assertThat(task.getTimeLimitMs()).isEqualTo(10_000);
    assertThat(task.getValidationLevel()).isEqualTo(3);
  }

  @Test
  void shouldAcceptAJsonbValueThatArrivesAsAJsonString() throws Exception {
    String doubleEncoded = "\"{\\\"description\\\": \\\"d\\\"}\"";
    assertThat(TaskJson.parse(doubleEncoded, "agg-1", "outbox", NOW).getDescription())
        .isEqualTo("d");
  }

  @Test
  void shouldGiveADirectSubmissionWithoutAnIdANewOne() throws Exception {
    Task task = TaskJson.parseSubmission("{\"code\": \"x = 1\"}", "cli", NOW);
    assertThat(task.getTaskId()).hasSize(36);
    assertThat(TaskJson.parseSubmission("{\"task_id\": \"mine\", \"code\": \"x\"}", "cli", NOW)
        .getTaskId()).isEqualTo("mine");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      // payload | reason
      "not json at all | payload is not JSON",
      "[1, 2] | must be a JSON object",
      "{} | needs a description or code",
      "{\"description\": \"d\", \"prio\": 1} | unknown field 'prio'",
      "{\"description\": \"d\", \"priority\": 0} | priority must be 1..5",
      "{\"description\": \"d\", \"priority\": \"high\"} | priority must be an integer",
      "{\"description\": \"d\", \"time_limit_ms\": -5} | time_limit_ms must be > 0",
      "{\"description\": \"d\", \"validation_level\": 7} | validation_level must be 1..4",
      "{\"description\": \"d\", \"language\": \"COBOL\"} | language must be one of",
      "{\"description\": \"d\", \"submitted_at\": \"yesterday\"} | submitted_at must be ISO-8601",
      "{\"description\": \"d\", \"attributes\": {\"n\": 1}} | attribute 'n' must be a string",
      "{\"description\": \"d\", \"task_id\": \"other\"} | differs from the outbox aggregateid",
  })
  void shouldRejectWhatIsNotATaskAndSayWhy(String payload, String reason) {
    assertThatThrownBy(() -> TaskJson.parse(payload, "agg-1", "outbox", NOW))
        .isInstanceOf(InvalidTaskException.class)
        .hasMessageContaining(reason);
  }
}
