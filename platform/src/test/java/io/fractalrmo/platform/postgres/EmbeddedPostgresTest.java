package io.fractalrmo.platform.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.platform.PlatformException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedPostgresTest {

  @TempDir
  Path dir;

  @Test
  void shouldKeepRowsAcrossRestartsWithLogicalDecodingAndLeaveNoProcess() throws Exception {
    long postmaster;
    long watchdog;
    try (EmbeddedPostgres postgres = EmbeddedPostgres.start(dir.resolve("pg"))) {
      postmaster = postgres.pid().orElseThrow();
      watchdog = postgres.watchdogPid();
      assertThat(postgres.jdbcUrl()).matches("jdbc:postgresql://127\\.0\\.0\\.1:\\d+/fractal\\?user=fractal");
      try (Connection c = DriverManager.getConnection(postgres.jdbcUrl());
           Statement s = c.createStatement()) {
        s.execute("CREATE TABLE note (id int PRIMARY KEY, text varchar)");
        s.execute("INSERT INTO note VALUES (1, 'kept')");
        assertThat(single(s, "SHOW wal_level")).isEqualTo("logical");
        assertThat(single(s, "SELECT current_user")).isEqualTo("fractal");
        assertThat(single(s, "SELECT rolreplication::text FROM pg_roles WHERE rolname = 'fractal'")).isEqualTo("true");
      }
    }
    assertThat(alive(postmaster)).isFalse();
    assertThat(alive(watchdog)).isFalse();

    try (EmbeddedPostgres again = EmbeddedPostgres.start(dir.resolve("pg"));
         Connection c = again.connect();
         Statement s = c.createStatement()) {
      assertThat(single(s, "SELECT text FROM note WHERE id = 1")).isEqualTo("kept");
    }
  }

  @Test
  void shouldStopAServerLeftBehindByAKilledRun() throws Exception {
    EmbeddedPostgres orphan = EmbeddedPostgres.start(dir.resolve("pg"));
    long orphanPostmaster = orphan.pid().orElseThrow();
    // kill -9 the watching shell, as if everything above the server had died without cleanup
    ProcessHandle shell = ProcessHandle.of(orphan.watchdogPid()).orElseThrow();
    shell.destroyForcibly();
    shell.onExit().get(10, TimeUnit.SECONDS);
    assertThat(alive(orphanPostmaster)).isTrue();
    try (EmbeddedPostgres postgres = EmbeddedPostgres.start(dir.resolve("pg"));
         Connection c = postgres.connect();
         Statement s = c.createStatement()) {
      assertThat(alive(orphanPostmaster)).isFalse();
      assertThat(single(s, "SELECT 1")).isEqualTo("1");
    } finally {
      orphan.close();
    }
  }

  @Test
  void shouldRunBelowADirectoryOthersCannotEnter() throws Exception {
    Path privateDir = Files.createDirectory(dir.resolve("private"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    try (EmbeddedPostgres postgres = EmbeddedPostgres.start(privateDir.resolve("pg"));
         Connection c = postgres.connect();
         Statement s = c.createStatement()) {
      assertThat(single(s, "SELECT current_database()")).isEqualTo("fractal");
    }
  }

  @Test
  void shouldRunOnTheSystemBinariesAsAFallback() throws Exception {
    Optional<Path> system = PostgresBinaries.system();
    Assumptions.assumeTrue(system.isPresent(), "no /usr/lib/postgresql/*/bin on this machine");
    try (EmbeddedPostgres postgres = EmbeddedPostgres.start(dir.resolve("pg"), 0, system.get());
         Connection c = postgres.connect();
         Statement s = c.createStatement()) {
      assertThat(single(s, "SHOW wal_level")).isEqualTo("logical");
    }
  }

  @Test
  void shouldRefuseAPortThatIsTaken() throws Exception {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      assertThatThrownBy(() -> EmbeddedPostgres.start(dir.resolve("pg"), taken.getLocalPort()))
          .isInstanceOf(PlatformException.class)
          .hasMessageContaining("already in use")
          .hasMessageContaining("--postgres-port");
    }
  }

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  private static String single(Statement s, String sql) throws Exception {
    try (ResultSet rs = s.executeQuery(sql)) {
      assertThat(rs.next()).isTrue();
      return rs.getString(1);
    }
  }
}
