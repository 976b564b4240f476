package io.fractalrmo.connectors.migrations;

import java.util.Objects;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a PostgreSQL database to the schema of this release with the versioned Flyway scripts in
 * {@code db/migration}. Idempotent: on an already migrated database it applies nothing.
 */
public final class Migrations {

  private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
  public static final String LOCATION = "classpath:db/migration";

  private Migrations() {
  }

  /**
   * Applies the pending migrations.
   *
   * @param jdbcUrl e.g. {@code jdbc:postgresql://127.0.0.1:5432/fractal?user=fractal}
   * @return how many migrations were applied now (0 on an up-to-date database)
   */
  public static int apply(String jdbcUrl) {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    Flyway flyway = Flyway.configure(Migrations.class.getClassLoader())
        .dataSource(jdbcUrl, null, null)
        .locations(LOCATION)
        .load();
    MigrateResult result = flyway.migrate();
    LOG.info("database schema at version {} ({} migration(s) applied now)",
        result.targetSchemaVersion != null ? result.targetSchemaVersion
            : result.initialSchemaVersion,
        result.migrationsExecuted);
    return result.migrationsExecuted;
  }
}
