package io.fractalrmo.platform.postgres;

import io.fractalrmo.platform.ChildProcesses;
import io.fractalrmo.platform.PlatformException;
import io.fractalrmo.platform.FileTrees;
import io.fractalrmo.platform.Ports;
import io.fractalrmo.platform.ServiceDir;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server on 127.0.0.1 with its data under a directory of the caller: database
 * {@code fractal}, superuser {@code fractal}, trust authentication (no password), logical
 * decoding enabled for the Debezium outbox.
 *
 * <p>Binaries come from the zonky artifact on the classpath (the system's as a fallback). As root
 * the server runs as {@code nobody} through {@code setpriv} (initdb and postgres refuse root); as
 * any other user it runs as that user. The server is watched by a small shell that stops it
 * (fast shutdown, SIGINT) when this JVM closes it, exits, or dies, so it never outlives its
 * parent; a server left by an earlier run on the same directory is stopped before starting.
 */
public final class EmbeddedPostgres implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgres.class);
  public static final String DATABASE = "fractal";
  public static final String USER = "fractal";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);

  /** Waits for EOF on stdin (this JVM closed it or died), then stops postgres with SIGINT. */
  private static final String WATCHDOG = String.join("\n",
      "\"$@\" &",
      "pg=$!",
      "( while read -r _; do :; done; kill -INT \"$pg\" 2>/dev/null ) <&0 &",
      "watcher=$!",
      "trap 'kill -INT \"$pg\" 2>/dev/null' TERM INT HUP",
      "wait \"$pg\"; rc=$?",
      "while kill -0 \"$pg\" 2>/dev/null; do wait \"$pg\"; rc=$?; done",
      "kill \"$watcher\" 2>/dev/null",
      "exit $rc");

  private final Path dataDir;
  private final Path pgData;
  private final int port;
  private final Process watchdog;
  private final Thread shutdownHook;
  private volatile boolean closed;
  private volatile Optional<Long> postmasterPid = Optional.empty();

  private EmbeddedPostgres(Path dataDir, Path pgData, int port, Process watchdog) {
    this.dataDir = dataDir;
    this.pgData = pgData;
    this.port = port;
    this.watchdog = watchdog;
    this.shutdownHook = new Thread(this::stopServer, "fractal-postgres-stop");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  public static EmbeddedPostgres start(Path dataDir) {
    return start(dataDir, 0);
  }

  /**
   * Starts the server with its data under {@code dataDir} (initialised on first use; a directory
   * used before comes back with its databases and rows).
   *
   * @param port TCP port on 127.0.0.1, 0 for a free one (the previous run's port when free)
   * @throws PlatformException when the port is taken, the directory unusable or the server does
   *     not start; the message says what to do
   */
  public static EmbeddedPostgres start(Path dataDir, int port) {
    return start(dataDir, port, null);
  }

  /** The same with the binaries in {@code binDir} (null: find them, see {@link PostgresBinaries}). */
  static EmbeddedPostgres start(Path dataDir, int port, Path binDir) {
    Instant started = Instant.now();
    ServiceDir serviceDir = ServiceDir.open(dataDir, "fractal-postgres.properties",
        "port of the embedded PostgreSQL; reused on the next start when free");
    Path dir = serviceDir.path();
    Path pgData = dir.resolve("pgdata");
    Path log = dir.resolve("postgres.log");
    stopLeftover(pgData);

    int pgPort = port != 0
        ? Ports.resolve(port, "PostgreSQL", "--postgres-port") : serviceDir.previousPortOrFree("port");
    serviceDir.set("port", Integer.toString(pgPort));
    serviceDir.store();

    Path bin = binDir != null ? binDir : PostgresBinaries.locate();
    Optional<ServerUser> serverUser = ServerUser.forCurrentProcess();
    boolean needsTraverse = serverUser.isPresent() && !traversableByOthers(dir);
    if (!Files.exists(pgData.resolve("PG_VERSION"))) {
      initdb(bin, pgData, dir, serverUser, needsTraverse);
    } else if (serverUser.isPresent()) {
      serverUser.get().own(pgData);
    }

    List<String> command = new ArrayList<>(ChildProcesses.ownSessionPrefix());
    command.addAll(List.of("bash", "-c", WATCHDOG, "fractal-postgres"));
    command.addAll(asServerUser(serverUser, needsTraverse));
    command.addAll(List.of(bin.resolve("postgres").toString(),
        "-D", pgData.toString(),
        "-p", Integer.toString(pgPort),
        "-c", "listen_addresses=127.0.0.1",
        "-c", "unix_socket_directories=",
        "-c", "wal_level=logical",
        "-c", "max_replication_slots=4",
        "-c", "max_wal_senders=4",
        // Bounds the WAL a stalled outbox slot can pin while the ingest is down (see README).
        "-c", "max_slot_wal_keep_size=1GB",
        "-c", "max_connections=60",
        // After a crash, PostgreSQL first fsyncs every file of the data directory one by one
        // (2+ s here); one syncfs() of the file system gives the same guarantee at once.
        "-c", "recovery_init_sync_method=syncfs",
        "-c", "shared_buffers=32MB",
        "-c", "huge_pages=off",
        "-c", "timezone=UTC",
        "-c", "log_min_messages=warning"));
    Process process;
    try {
      process = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .start();
    } catch (IOException e) {
      throw new PlatformException("cannot start PostgreSQL: " + e.getMessage(), e);
    }
    EmbeddedPostgres postgres = new EmbeddedPostgres(dir, pgData, pgPort, process);
    try {
      postgres.awaitReady(started.plus(START_TIMEOUT), log);
    } catch (RuntimeException e) {
      postgres.close();
      throw e;
    }
    LOG.info("PostgreSQL ready at {} in {} ms (data {})", postgres.jdbcUrl(),
        Duration.between(started, Instant.now()).toMillis(), pgData);
    return postgres;
  }

  /** {@code jdbc:postgresql://127.0.0.1:PORT/fractal?user=fractal} (no password). */
  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE + "?user=" + USER;
  }

  public int port() {
    return port;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** The postmaster's pid (from {@code postmaster.pid}), for measurements and diagnostics. */
  public Optional<Long> pid() {
    return postmasterPid;
  }

  /** The pid of the watching shell (parent of the postmaster). */
  public long watchdogPid() {
    return watchdog.pid();
  }

  public boolean isRunning() {
    return watchdog.isAlive();
  }

  /**
   * Freezes the server as a paused VM or container would: SIGSTOP to the postmaster, then to
   * each of its processes (every backend is its own process group, so a group signal does not
   * reach them). Connections stay open and hang; {@link #resume()} thaws them. For fault tests.
   */
  public void pause() {
    pid().ifPresent(pid -> signalServer(pid, "STOP"));
  }

  /** Thaws a server frozen by {@link #pause()}. */
  public void resume() {
    pid().ifPresent(pid -> signalServer(pid, "CONT"));
  }

  /**
   * Sends {@code signal} ("STOP", "CONT") to a postmaster and every process below it: STOP to
   * the postmaster first (it forks no new backend then), CONT to it last.
   */
  public static void signalServer(long postmasterPid, String signal) {
    Optional<ProcessHandle> postmaster = ProcessHandle.of(postmasterPid);
    if (postmaster.isEmpty()) {
      return;
    }
    boolean stop = "STOP".equals(signal);
    if (stop) {
      ChildProcesses.signal(postmasterPid, signal);
    }
    postmaster.get().descendants().forEach(h -> ChildProcesses.signal(h.pid(), signal));
    if (!stop) {
      ChildProcesses.signal(postmasterPid, signal);
    }
  }

  /** A new connection to database {@code fractal}; the caller closes it. */
  public Connection connect() throws SQLException {
    return connect(DATABASE);
  }

  /** Fast shutdown (SIGINT), waiting for the server to exit. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopServer();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down; the hook does the same
    }
  }

  private void stopServer() {
    Optional<Long> postmaster = pid();
    try {
      watchdog.getOutputStream().close(); // the watchdog sends SIGINT to the postmaster
    } catch (IOException e) {
      // already closed
    }
    try {
      if (!watchdog.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("PostgreSQL did not stop within {}; killing it", STOP_TIMEOUT);
        postmaster.ifPresent(pid -> ChildProcesses.signal(pid, "QUIT"));
        watchdog.destroyForcibly();
        watchdog.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      watchdog.destroyForcibly();
    }
    postmaster.flatMap(ProcessHandle::of)
        .ifPresent(h -> ChildProcesses.waitForExit(h, Duration.ofSeconds(10)));
  }

  private void awaitReady(Instant deadline, Path log) {
    SQLException last = null;
    while (Instant.now().isBefore(deadline)) {
      if (!watchdog.isAlive()) {
        throw new PlatformException("PostgreSQL exited with code " + watchdog.exitValue()
            + " while starting; its log (" + log + ") ends with:\n" + ChildProcesses.tail(log, 3000));
      }
      try (Connection connection = connect("postgres");
           Statement statement = connection.createStatement()) {
        try (ResultSet rs = statement.executeQuery(
            "SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
          if (!rs.next()) {
            statement.execute("CREATE DATABASE " + DATABASE + " OWNER " + USER);
          }
        }
        postmasterPid = ChildProcesses.readPid(pgData.resolve("postmaster.pid"));
        return;
      } catch (SQLException e) {
        last = e;
      }
      try {
        Thread.sleep(50); // polling interval of a deadline-bounded readiness wait
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new PlatformException("interrupted while waiting for PostgreSQL", e);
      }
    }
    throw new PlatformException("PostgreSQL on port " + port + " was not ready within "
        + START_TIMEOUT.toSeconds() + " s (" + (last == null ? "no answer" : last.getMessage())
        + "); see " + log);
  }

  private Connection connect(String database) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", USER);
    props.setProperty("connectTimeout", "2");
    Connection connection = new org.postgresql.Driver()
        .connect("jdbc:postgresql://127.0.0.1:" + port + "/" + database, props);
    if (connection == null) {
      throw new SQLException("the PostgreSQL driver refused the URL");
    }
    return connection;
  }

  private static void initdb(Path bin, Path pgData, Path dir, Optional<ServerUser> serverUser,
      boolean needsTraverse) {
    long started = System.nanoTime();
    FileTrees.deleteTree(pgData); // a half-initialised directory from an interrupted run
    try {
      Files.createDirectory(pgData);
      Files.setPosixFilePermissions(pgData, PosixFilePermissions.fromString("rwx------"));
    } catch (IOException e) {
      throw new PlatformException("cannot create " + pgData + " (" + e.getMessage()
          + "): choose a writable directory with --data-dir", e);
    }
    serverUser.ifPresent(u -> u.own(pgData));
    List<String> command = new ArrayList<>(asServerUser(serverUser, needsTraverse));
    command.addAll(List.of(bin.resolve("initdb").toString(),
        "-D", pgData.toString(), "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C",
        "--no-sync", "--no-instructions"));
    Path log = dir.resolve("initdb.log");
    try {
      Process process = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      process.getOutputStream().close();
      if (!process.waitFor(120, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new PlatformException("initdb did not finish within 120 s; see " + log);
      }
      if (process.exitValue() != 0) {
        throw new PlatformException("initdb failed with exit code " + process.exitValue() + ":\n"
            + ChildProcesses.tail(log, 3000));
      }
    } catch (IOException e) {
      throw new PlatformException("cannot run initdb: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PlatformException("interrupted while running initdb", e);
    }
    LOG.info("Initialised PostgreSQL data in {} ms", (System.nanoTime() - started) / 1_000_000);
  }

  private static List<String> asServerUser(Optional<ServerUser> user, boolean needsTraverse) {
    if (user.isEmpty()) {
      return List.of();
    }
    List<String> prefix = new ArrayList<>(List.of("setpriv",
        "--reuid=" + user.get().uid(), "--regid=" + user.get().gid(), "--clear-groups"));
    if (needsTraverse) {
      // The data dir sits below a directory 'nobody' may not enter (e.g. /root): keep only the
      // right to traverse and read directories, nothing else of root's.
      prefix.add("--inh-caps=+dac_read_search");
      prefix.add("--ambient-caps=+dac_read_search");
    }
    prefix.add("--");
    return prefix;
  }

  /**
   * Makes way for a new server on {@code pgData}: stops a postmaster left running by an earlier
   * run, and waits (bounded) for the processes of a killed one to be gone — a killed postmaster
   * that is not yet reaped still owns its pid, and PostgreSQL then refuses to start ("lock file
   * already exists"); its orphaned backends still hold the old shared memory.
   */
  private static void stopLeftover(Path pgData) {
    Path pidFile = pgData.resolve("postmaster.pid");
    Optional<Long> pid = ChildProcesses.readPid(pidFile);
    if (pid.isEmpty()) {
      return;
    }
    Optional<ProcessHandle> handle = ProcessHandle.of(pid.get()).filter(ProcessHandle::isAlive);
    if (handle.isPresent() && ChildProcesses.commandLine(pid.get()).contains(pgData.toString())) {
      LOG.warn("Stopping PostgreSQL (pid {}) left behind by an earlier run on {}", pid.get(), pgData);
      ChildProcesses.signal(pid.get(), "INT");
      if (!ChildProcesses.waitForExit(handle.get(), STOP_TIMEOUT)) {
        handle.get().destroyForcibly();
        ChildProcesses.waitForExit(handle.get(), Duration.ofSeconds(10));
      }
    }
    // postgres itself removes a stale postmaster.pid whose process is gone; wait until it is
    // gone indeed (a zombie awaiting its reaper) and until no orphaned backend works in pgdata.
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (System.nanoTime() < deadline) {
      boolean zombie = ChildProcesses.isZombie(pid.get());
      List<ProcessHandle> orphans = ChildProcesses.workingIn(pgData);
      if (!zombie && orphans.isEmpty()) {
        return;
      }
      if (!orphans.isEmpty() && System.nanoTime() > deadline - Duration.ofSeconds(10).toNanos()) {
        // backends notice their postmaster's death within a second or so; these did not
        orphans.forEach(ProcessHandle::destroyForcibly);
      }
      try {
        Thread.sleep(50); // polling interval of a deadline-bounded wait
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    LOG.warn("processes of an earlier PostgreSQL on {} are still around; starting anyway", pgData);
  }

  /** Whether every directory from {@code dir} up to the root may be entered by any user. */
  static boolean traversableByOthers(Path dir) {
    for (Path p = dir.toAbsolutePath(); p != null; p = p.getParent()) {
      try {
        if (!Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
          return false;
        }
      } catch (IOException | UnsupportedOperationException e) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return "EmbeddedPostgres[" + jdbcUrl() + ", " + pgData + "]";
  }

  /** The unprivileged user the server runs as when this process is root. */
  record ServerUser(int uid, int gid) {

    static Optional<ServerUser> forCurrentProcess() {
      if (currentUid() != 0) {
        return Optional.empty();
      }
      try {
        for (String line : Files.readAllLines(Path.of("/etc/passwd"), StandardCharsets.UTF_8)) {
          String[] fields = line.split(":");
          if (fields.length > 3 && fields[0].equals("nobody")) {
            return Optional.of(new ServerUser(Integer.parseInt(fields[2]), Integer.parseInt(fields[3])));
          }
        }
      } catch (IOException | NumberFormatException e) {
        throw new PlatformException("running as root, PostgreSQL needs an unprivileged user, "
            + "but /etc/passwd could not be read: " + e.getMessage(), e);
      }
      throw new PlatformException("running as root, PostgreSQL needs an unprivileged user, "
          + "and there is no user 'nobody': run fractal as a normal user, or pass --jdbc-url");
    }

    static int currentUid() {
      try {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
        return "root".equals(System.getProperty("user.name")) ? 0 : -1;
      }
    }

    /** Gives the data directory to this user, recursively (PostgreSQL checks its owner). */
    void own(Path root) {
      try (var walk = Files.walk(root)) {
        for (Path p : (Iterable<Path>) walk::iterator) {
          if ((Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS) != uid) {
            Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
          }
        }
      } catch (IOException e) {
        throw new PlatformException("cannot give " + root + " to uid " + uid + ": " + e.getMessage(), e);
      }
    }
  }
}
