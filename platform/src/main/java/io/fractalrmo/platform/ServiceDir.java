package io.fractalrmo.platform;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data directory of one embedded service and the small properties file in it that remembers
 * what the next start should reuse (ports, cluster id). Errors name the directory and what to do.
 */
public final class ServiceDir {

  private static final Logger LOG = LoggerFactory.getLogger(ServiceDir.class);

  private final Path dir;
  private final Path stateFile;
  private final String stateComment;
  private final Properties state;

  private ServiceDir(Path dir, String stateFileName, String stateComment) {
    this.dir = dir;
    this.stateFile = dir.resolve(stateFileName);
    this.stateComment = stateComment;
    this.state = load(stateFile);
  }

  /** Creates the directory if needed, checks it is writable, and reads its state file. */
  public static ServiceDir open(Path dataDir, String stateFileName, String stateComment) {
    Path dir = dataDir.toAbsolutePath().normalize();
    createWritableDir(dir);
    return new ServiceDir(dir, stateFileName, stateComment);
  }

  public Path path() {
    return dir;
  }

  public String get(String key) {
    return state.getProperty(key);
  }

  public void set(String key, String value) {
    state.setProperty(key, value);
  }

  /** The port the last start used under {@code key} when it is free again, else a free port. */
  public int previousPortOrFree(String key) {
    String previous = state.getProperty(key, "");
    if (previous.matches("\\d+") && Ports.isFree(Integer.parseInt(previous))) {
      return Integer.parseInt(previous);
    }
    return Ports.free();
  }

  /** Writes the state file, so the next start can reuse what this one chose. */
  public void store() {
    try (Writer writer = Files.newBufferedWriter(stateFile, StandardCharsets.UTF_8)) {
      state.store(writer, stateComment);
    } catch (IOException e) {
      throw new PlatformException("cannot write " + stateFile + " (" + e.getMessage()
          + "): choose a writable directory with --data-dir", e);
    }
  }

  public static void createWritableDir(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException | UncheckedIOException e) {
      throw new PlatformException("cannot create the data directory " + dir + " (" + e.getMessage()
          + "): choose a writable directory with --data-dir", e);
    }
    if (!Files.isWritable(dir)) {
      throw new PlatformException("the data directory " + dir
          + " is not writable: fix its permissions or choose another with --data-dir");
    }
  }

  private static Properties load(Path file) {
    Properties properties = new Properties();
    if (Files.isRegularFile(file)) {
      try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        properties.load(reader);
      } catch (IOException e) {
        LOG.warn("ignoring unreadable {}: {}", file, e.getMessage());
      }
    }
    return properties;
  }
}
