package io.fractalrmo.streams;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After a crash under exactly-once, a task's state directory has no {@code .checkpoint} file
 * (Streams writes it only when the task closes cleanly), and Streams then treats every
 * non-empty store of it as corrupted: it opens all of them while it starts (the start-up tasks),
 * finds no checkpoint, closes them dirty, wipes them and restores them from their changelogs.
 * Removing those directories before Streams starts skips the opening and the corruption round
 * and leads straight to the same restoration; directories with a checkpoint (a clean stop) are
 * kept and their stores reused. The application directory's lock is held meanwhile, so a live
 * instance on the same directory is never touched; its {@code kafka-streams-process-metadata}
 * (the process id behind the transactional ids) stays.
 */
final class UncleanStateDirs {

  private static final Logger LOG = LoggerFactory.getLogger(UncleanStateDirs.class);
  /** Task directories: {@code <subtopology>_<partition>} (named topologies are not used here). */
  private static final Pattern TASK = Pattern.compile("\\d+_\\d+");

  private UncleanStateDirs() {
  }

  /**
   * Removes the task directories under {@code appDir} that have no {@code .checkpoint}; returns
   * their names (none when the directory is missing or locked by a live instance).
   */
  static List<String> remove(Path appDir) {
    List<String> removed = new ArrayList<>();
    if (!Files.isDirectory(appDir)) {
      return removed;
    }
    try (FileChannel channel = FileChannel.open(appDir.resolve(".lock"),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        return removed; // a live instance owns it: Streams itself will say so
      }
      try (DirectoryStream<Path> tasks = Files.newDirectoryStream(appDir,
          p -> Files.isDirectory(p) && TASK.matcher(p.getFileName().toString()).matches())) {
        for (Path task : tasks) {
          if (!Files.exists(task.resolve(".checkpoint"))) {
            deleteTree(task);
            removed.add(task.getFileName().toString());
          }
        }
      } finally {
        lock.release();
      }
    } catch (IOException e) {
      LOG.warn("could not look for unclean task state in {} (Streams will sort it out): {}",
          appDir, e.toString());
    }
    if (!removed.isEmpty()) {
      LOG.info("removed the state of {} task(s) without a checkpoint in {} (an unclean stop under"
          + " exactly-once: Streams would wipe them anyway); they restore from their changelogs:"
          + " {}", removed.size(), appDir, removed);
    }
    return removed;
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
