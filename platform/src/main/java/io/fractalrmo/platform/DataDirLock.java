package io.fractalrmo.platform;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Exclusive use of a data directory by one {@code fractal up}: an OS file lock on
 * {@code DIR/fractal.lock}, which also holds the owner's pid for the message a second user gets.
 * The OS releases the lock when its owner dies, however it dies, so a lock file left behind by a
 * killed run is simply taken over.
 */
public final class DataDirLock implements AutoCloseable {

  public static final String FILE_NAME = "fractal.lock";

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Creates the directory if needed and locks it.
   *
   * @throws PlatformException if the directory cannot be created or written, or another process
   *     (or this one) holds it; the message says what to do
   */
  public static DataDirLock acquire(Path dataDir) {
    Path dir = dataDir.toAbsolutePath().normalize();
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new PlatformException("cannot create the data directory " + dir + " ("
          + describe(e) + "): choose a writable directory with --data-dir", e);
    }
    if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
      throw new PlatformException("the data directory " + dir
          + " is not writable: fix its permissions or choose another with --data-dir");
    }
    Path file = dir.resolve(FILE_NAME);
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new PlatformException("cannot write " + file + " (" + describe(e)
          + "): fix the directory's permissions or choose another with --data-dir", e);
    }
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    } catch (IOException e) {
      closeQuietly(channel);
      throw new PlatformException("cannot lock " + file + ": " + describe(e), e);
    }
    if (lock == null) {
      String owner = ownerOf(channel);
      closeQuietly(channel);
      throw new PlatformException("the data directory " + dir + " is in use by another fractal"
          + (owner.isEmpty() ? "" : " (pid " + owner + ")")
          + ": stop that one first (Ctrl-C in its terminal" + (owner.isEmpty() ? "" : ", or kill " + owner)
          + "), or start this one with another --data-dir");
    }
    try {
      channel.truncate(0);
      channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
      channel.force(false);
    } catch (IOException e) {
      // the pid is only for the message of a second user
    }
    return new DataDirLock(file, channel, lock);
  }

  public Path file() {
    return file;
  }

  @Override
  public void close() {
    try {
      if (lock.isValid()) {
        channel.truncate(0);
        lock.release();
      }
    } catch (IOException e) {
      // closing the channel releases it anyway
    }
    closeQuietly(channel);
  }

  private static String ownerOf(FileChannel channel) {
    try {
      ByteBuffer buffer = ByteBuffer.allocate(32);
      channel.read(buffer, 0);
      return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      return "";
    }
  }

  private static String describe(IOException e) {
    return e instanceof AccessDeniedException ? "permission denied" : e.toString();
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // nothing to do
    }
  }
}
