package io.fractalrmo.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stable instance number on this host: the lowest {@code n} whose lock file
 * {@code <dir>/<scope>/<n>.lock} this process can lock. The kernel releases the lock when the
 * process dies, also by SIGKILL, so an instance restarted after a crash gets the number of the one
 * it replaces — and with it the same identity ({@code group.instance.id}, {@code transactional.id}):
 * it rejoins the group without a rebalance and fences its predecessor's open transaction at once.
 * Two live processes never hold the same number. {@link #close()} releases it. The (empty) lock
 * files stay: removing a file another process may just have opened would let two processes lock
 * two different files of one name.
 *
 * <p>The directory must be shared by the instances of a host ({@link #defaultDirectory()}); the
 * scope (e.g. the consumer group) keeps unrelated roles and tenants apart.
 */
public final class SlotLease implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SlotLease.class);
  /** Property, then environment variable, naming the directory. */
  public static final String DIRECTORY_PROPERTY = "fractal.slot-dir";
  public static final String DIRECTORY_ENV = "FRACTAL_SLOT_DIR";
  private static final int MAX_SLOTS = 10_000;

  private final int slot;
  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private SlotLease(int slot, Path file, FileChannel channel, FileLock lock) {
    this.slot = slot;
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * {@code -Dfractal.slot-dir}, else {@code $FRACTAL_SLOT_DIR}, else
   * {@code $XDG_RUNTIME_DIR/fractal-slots}, else {@code /tmp/fractal-slots-<user>} — never
   * {@code java.io.tmpdir}, which may differ between the processes of one host.
   */
  public static Path defaultDirectory() {
    String dir = System.getProperty(DIRECTORY_PROPERTY);
    if (dir == null || dir.isBlank()) {
      dir = System.getenv(DIRECTORY_ENV);
    }
    if (dir == null || dir.isBlank()) {
      String xdg = System.getenv("XDG_RUNTIME_DIR");
      if (xdg != null && !xdg.isBlank() && Files.isDirectory(Path.of(xdg))) {
        return Path.of(xdg, "fractal-slots");
      }
      String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
      return Path.of("/tmp", "fractal-slots-" + user);
    }
    return Path.of(dir);
  }

  /** The lowest free slot of {@code scope} under {@code directory}. */
  public static SlotLease acquire(Path directory, String scope) {
    Objects.requireNonNull(directory, "directory");
    Path dir = directory.resolve(scopeName(scope));
    for (int n = 0; n < MAX_SLOTS; n++) {
      SlotLease lease = tryLock(dir, n);
      if (lease != null) {
        return lease;
      }
    }
    throw new IllegalStateException("no free instance slot under " + dir);
  }

  private static SlotLease tryLock(Path dir, int n) {
    Path file = dir.resolve(n + ".lock");
    FileChannel channel = null;
    try {
      Files.createDirectories(dir);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock = tryLock(channel);
      if (lock == null) {
        channel.close();
        return null;
      }
      return new SlotLease(n, file, channel, lock);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException("cannot lock " + file, e);
    }
  }

  /**
   * Removes the scopes under {@code directory} whose names start with {@code prefix}, for a run
   * that gave its groups a prefix of their own (the benchmark's phases, a test's unique topics)
   * and has stopped the instances it started: without it each such run leaves a directory per
   * group behind. A lock file is deleted only while this call holds its lock, and one that any
   * process (this JVM included) holds is left with its scope — so only a scope nobody uses any
   * more goes, and a caller must not pass a prefix that live instances elsewhere may still
   * acquire under (the class comment says why). Returns the number of scopes removed.
   */
  public static int deleteScopes(Path directory, String prefix) {
    String safe = scopeName(prefix);
    if (safe.isEmpty() || !Files.isDirectory(directory)) {
      return 0;
    }
    int removed = 0;
    try (var scopes = Files.newDirectoryStream(directory, d -> Files.isDirectory(d)
        && d.getFileName().toString().startsWith(safe))) {
      for (Path scope : scopes) {
        if (deleteFreeLocks(scope)) {
          try {
            Files.delete(scope);
            removed++;
          } catch (IOException e) {
            LOG.debug("scope {} not removed: {}", scope, e.toString()); // not empty: in use again
          }
        }
      }
    } catch (IOException e) {
      LOG.debug("cleaning up scopes {}* under {}: {}", safe, directory, e.toString());
    }
    return removed;
  }

  /** Deletes each lock file of {@code scope} nobody holds; true when all of them went. */
  private static boolean deleteFreeLocks(Path scope) throws IOException {
    boolean all = true;
    try (var files = Files.newDirectoryStream(scope)) {
      for (Path file : files) {
        if (!file.getFileName().toString().endsWith(".lock")) {
          all = false; // not ours: leave the scope
          continue;
        }
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE)) {
          FileLock lock = tryLock(c);
          if (lock == null) {
            all = false;
            continue;
          }
          try {
            Files.delete(file);
          } finally {
            lock.release();
          }
        } catch (java.nio.file.NoSuchFileException e) {
          // removed meanwhile
        }
      }
    }
    return all;
  }

  /** The directory name of a scope: characters a file name must not carry become '_'. */
  private static String scopeName(String scope) {
    return scope.replaceAll("[^A-Za-z0-9._-]", "_");
  }

  /** The file's lock, or null when another process or this JVM holds it. */
  private static FileLock tryLock(FileChannel channel) throws IOException {
    try {
      return channel.tryLock();
    } catch (OverlappingFileLockException e) {
      return null; // held by this JVM already
    }
  }

  private static void closeQuietly(FileChannel c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException ignored) {
        // nothing held
      }
    }
  }

  public int slot() {
    return slot;
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      LOG.debug("releasing slot {}: {}", file, e.toString());
    }
  }

  @Override
  public String toString() {
    return "slot " + slot + " (" + file + ")";
  }
}
