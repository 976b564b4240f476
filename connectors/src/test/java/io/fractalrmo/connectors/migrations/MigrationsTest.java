package io.fractalrmo.connectors.migrations;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.connectors.support.Databases;
import io.fractalrmo.registry.testing.TestStack;
import java.util.List;
import org.junit.jupiter.api.Test;

class MigrationsTest {

  private static final List<String> TABLES = List.of("agents", "tasks", "action_items",
      "error_logs", "patterns", "protocol_rules", "validation_outcomes", "task_status", "outbox",
      "outbox_ingested", "sink_offsets");

  @Test
  void shouldCreateEveryTableOnAnEmptyDatabaseAndApplyNothingTheSecondTime() {
    String url = Databases.fresh(TestStack.sharedWithPostgres());

    assertThat(Migrations.apply(url)).isPositive();
    for (String table : TABLES) {
      assertThat(Databases.count(url,
          "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
              + " AND table_name = ?", table)).as(table).isEqualTo(1);
    }

    assertThat(Migrations.apply(url)).isZero();
    assertThat(Databases.count(url,
        "SELECT count(*) FROM flyway_schema_history WHERE success")).isPositive();
  }

  @Test
  void shouldLayOutTheOutboxAsDebeziumsEventRouterExpects() {
    String url = Databases.fresh(TestStack.sharedWithPostgres());
    Migrations.apply(url);
    for (String column : List.of("id", "aggregatetype", "aggregateid", "type", "payload")) {
      assertThat(Databases.count(url, "SELECT count(*) FROM information_schema.columns"
          + " WHERE table_name = 'outbox' AND column_name = ?", column)).as(column).isEqualTo(1);
    }
  }
}
