package io.fractalrmo.connectors.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.connectors.migrations.Migrations;
import io.fractalrmo.connectors.query.RecordQueries;
import io.fractalrmo.connectors.query.Reports;
import io.fractalrmo.connectors.support.Databases;
import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.StateTransition;
import io.fractalrmo.contracts.TaskState;
import io.fractalrmo.contracts.TaskStatus;
import io.fractalrmo.contracts.TrialSummary;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.contracts.testing.Mothers;
import io.fractalrmo.registry.testing.TestStack;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The queries behind {@code fractal status} and {@code fractal rules}, on rows the sink writes. */
class RecordQueriesTest {

  private static String url;
  private static RecordQueries queries;

  private static long offset;

  /** Each row as if from the next offset of partition 0. */
  private static RowWriter.Position next() {
    return new RowWriter.Position(0, offset++);
  }

  @BeforeAll
  static void rows() throws Exception {
    url = Databases.fresh(TestStack.sharedWithPostgres());
    Migrations.apply(url);
    queries = new RecordQueries(url);
    try (Connection c = DriverManager.getConnection(url)) {
      RowWriter.write(c, Mothers.aTask().setTaskId("ok-1").build(), next());
      RowWriter.write(c, Mothers.anActionItem().setTaskId("ok-1").setActionId("ok-1:1").build(), next());
      RowWriter.write(c, ValidationOutcome.newBuilder().setTaskId("ok-1").setActionId("ok-1:1")
          .setValidatorId("v").setSuccess(true).setLevelRequested(3).setLevelReached(3)
          .setDurationMs(9L).setValidatedAt(Mothers.T0.plusSeconds(2)).build(), next());
      RowWriter.write(c, status("ok-1", TaskState.SUCCEEDED, null), next());
      RowWriter.write(c, Mothers.aTask().setTaskId("bad-1").build(), next());
      RowWriter.write(c, Mothers.anErrorEvent().setTaskId("bad-1").setErrorId("e-1")
          .setOccurredAt(Mothers.T0.plusSeconds(1)).build(), next());
      RowWriter.write(c, status("bad-1", TaskState.FAILED, "NameError: List"), next());
      RowWriter.write(c, Mothers.aRule().setRuleId("r-active").setStatus(RuleStatus.ACTIVE)
          .setTrial(TrialSummary.newBuilder().setTrialId("trial-1").setSampleSize(6)
              .setErrorRateWithout(1.0).setErrorRateWith(0.0).setMeanDurationMsWithout(40)
              .setMeanDurationMsWith(45).setDecidedAt(Mothers.T0).setVerdict("helps").build())
          .build(), next());
      RowWriter.write(c, Mothers.aRule().setRuleId("r-rejected").setStatus(RuleStatus.REJECTED)
          .build(), next());
      RowWriter.write(c, Mothers.aRule().setRuleId("r-retired").setStatus(RuleStatus.RETIRED)
          .build(), next());
      RowWriter.tombstoneRule(c, "r-retired", Mothers.T0, next());
    }
  }

  @Test
  void shouldTellATasksHistoryInTimeOrder() throws Exception {
    RecordQueries.TaskHistory h = queries.history("ok-1").orElseThrow();
    assertThat(h.state()).contains("SUCCEEDED");
    assertThat(h.events()).extracting(RecordQueries.Event::kind)
        .containsExactly("submitted", "action", "state", "validation", "state");
    assertThat(Reports.history(h)).contains("task ok-1: SUCCEEDED").contains("passed level 3/3");

    RecordQueries.TaskHistory failed = queries.history("bad-1").orElseThrow();
    assertThat(failed.failure()).contains("DEPENDENCY: NameError: List");
    assertThat(Reports.history(failed)).contains("NameError (executor)");
    assertThat(queries.history("unknown")).isEmpty();
  }

  @Test
  void shouldSummariseRecentTasksByState() throws Exception {
    RecordQueries.Summary s = queries.summary(Instant.EPOCH, 10);
    assertThat(s.byState()).containsEntry("SUCCEEDED", 1L).containsEntry("FAILED", 1L);
    assertThat(s.recent()).extracting(RecordQueries.RecentTask::taskId)
        .containsExactlyInAnyOrder("ok-1", "bad-1");
    assertThat(Reports.summary(s)).contains("tasks updated since").contains("FAILED");
  }

  @Test
  void shouldListLiveRulesWithEvidenceAndTrialAndTheRestOnlyWithAll() throws Exception {
    List<RecordQueries.RuleRow> live = queries.rules(false);
    assertThat(live).extracting(RecordQueries.RuleRow::ruleId).containsExactly("r-active");
    String text = Reports.rules(live, false);
    assertThat(text).contains("ADD_MISSING_IMPORTS when DEPENDENCY|NameError|typing")
        .contains("evidence: DEPENDENCY|NameError|typing seen 5 times")
        .contains("trial trial-1: n=6, error rate 100% -> 0%");

    assertThat(queries.rules(true)).extracting(RecordQueries.RuleRow::ruleId)
        .containsExactlyInAnyOrder("r-active", "r-rejected", "r-retired");
    assertThat(Reports.rules(queries.rules(true), true)).contains("RETIRED (tombstoned)");
  }

  private static TaskStatus status(String task, TaskState state, String reason) {
    return TaskStatus.newBuilder().setTaskId(task).setState(state)
        .setFailureCategory(reason == null ? null : ErrorCategory.DEPENDENCY)
        .setFailureReason(reason)
        .setTransitions(List.of(
            StateTransition.newBuilder().setState(TaskState.RECEIVED)
                .setAt(Mothers.T0.plusMillis(500)).build(),
            StateTransition.newBuilder().setState(state).setAt(Mothers.T0.plusSeconds(3)).build()))
        .setUpdatedAt(Mothers.T0.plusSeconds(3)).build();
  }
}
