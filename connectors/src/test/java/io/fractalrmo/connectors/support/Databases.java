package io.fractalrmo.connectors.support;

import io.fractalrmo.registry.testing.TestStack;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/** Test helpers: a fresh, empty database per test class on the shared server, and waits. */
public final class Databases {

  private Databases() {
  }

  /** Creates an empty database on the stack's PostgreSQL; returns its JDBC URL. */
  public static String fresh(TestStack stack) {
    String base = stack.jdbcUrl().orElseThrow();
    String name = "t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return base.replace("/fractal?", "/" + name + "?");
  }

  public static long count(String jdbcUrl, String sql, Object... args) {
    try (Connection c = DriverManager.getConnection(jdbcUrl);
         PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  public static void execute(String jdbcUrl, String sql) {
    try (Connection c = DriverManager.getConnection(jdbcUrl); Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Waits for the condition, failing after the timeout (no fixed sleeps as synchronisation). */
  public static void await(Duration timeout, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      try {
        Thread.sleep(25);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }
}
