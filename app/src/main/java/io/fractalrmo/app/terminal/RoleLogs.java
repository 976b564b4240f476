package io.fractalrmo.app.terminal;

import io.fractalrmo.platform.PlatformException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.ConsoleAppender;
import org.apache.logging.log4j.core.appender.FileAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;

/**
 * Where the roles' log lines go while {@code fractal up} or {@code fractal demo} runs: into a file
 * under the data dir, so that the terminal shows the endpoints, the progress and the pattern and
 * rule events only. {@link #close()} puts the previous appenders back (tests run commands in
 * their own JVM and keep their console).
 */
public final class RoleLogs implements AutoCloseable {

  /** {@code DIR/logs/fractal.log}. */
  public static Path fileIn(Path dataDir) {
    return dataDir.toAbsolutePath().normalize().resolve("logs").resolve("fractal.log");
  }

  private final Path file;
  private final LoggerContext context;
  private final Appender appender;
  /** The appenders taken away, per logger, put back on close. */
  private final java.util.Map<LoggerConfig, java.util.Map<String, Appender>> removed;

  private RoleLogs(Path file, LoggerContext context, Appender appender,
      java.util.Map<LoggerConfig, java.util.Map<String, Appender>> removed) {
    this.file = file;
    this.context = context;
    this.appender = appender;
    this.removed = removed;
  }

  /**
   * Sends every log line of this JVM to {@code file} (appending) instead of the console.
   *
   * @throws PlatformException when the file cannot be created
   */
  public static RoleLogs toFile(Path file) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new PlatformException("cannot create the log directory for " + file + ": " + e.getMessage(), e);
    }
    if (!(LogManager.getContext(false) instanceof LoggerContext context)) {
      return new RoleLogs(file, null, null, java.util.Map.of()); // another logging backend: leave it
    }
    Configuration config = context.getConfiguration();
    PatternLayout layout = PatternLayout.newBuilder().withConfiguration(config)
        .withPattern("%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%t] %c{1} - %msg%n").build();
    FileAppender appender = FileAppender.newBuilder().setName("fractal-file-" + System.nanoTime())
        .withFileName(file.toString()).withAppend(true).setLayout(layout).setConfiguration(config)
        .build();
    return replaceRootAppenders(file, context, appender);
  }

  /**
   * Sends every log line to standard error (as it is now, whatever the configuration said), so
   * that standard output carries nothing but a protocol ({@code fractal mcp}).
   */
  public static RoleLogs toStandardError() {
    if (!(LogManager.getContext(false) instanceof LoggerContext context)) {
      return new RoleLogs(null, null, null, java.util.Map.of());
    }
    Configuration config = context.getConfiguration();
    PatternLayout layout = PatternLayout.newBuilder().withConfiguration(config)
        .withPattern("%d{HH:mm:ss.SSS} %-5level %c{1} - %msg%n").build();
    Appender appender = ConsoleAppender.newBuilder().setName("fractal-stderr-" + System.nanoTime())
        .setTarget(ConsoleAppender.Target.SYSTEM_ERR).setLayout(layout).setConfiguration(config)
        .build();
    return replaceRootAppenders(null, context, appender);
  }

  private static RoleLogs replaceRootAppenders(Path file, LoggerContext context, Appender appender) {
    Configuration config = context.getConfiguration();
    appender.start();
    config.addAppender(appender);
    LoggerConfig root = config.getRootLogger();
    java.util.Map<LoggerConfig, java.util.Map<String, Appender>> removed = new java.util.LinkedHashMap<>();
    java.util.List<LoggerConfig> loggers = new java.util.ArrayList<>(config.getLoggers().values());
    if (!loggers.contains(root)) {
      loggers.add(root);
    }
    // loggers with appenders of their own (a test configuration's, say) lose them too
    for (LoggerConfig logger : loggers) {
      java.util.Map<String, Appender> own = new java.util.LinkedHashMap<>(logger.getAppenders());
      if (!own.isEmpty()) {
        removed.put(logger, own);
        own.keySet().forEach(logger::removeAppender);
      }
    }
    root.addAppender(appender, null, null);
    context.updateLoggers();
    return new RoleLogs(file, context, appender, removed);
  }

  /**
   * As {@link #toFile}, or null when the file cannot be made (the console keeps the logs, and
   * whatever cannot create the directory reports it in its own words).
   */
  public static RoleLogs toFileOrConsole(Path file) {
    try {
      return toFile(file);
    } catch (PlatformException e) {
      return null;
    }
  }

  public Path file() {
    return file;
  }

  @Override
  public void close() {
    if (context == null) {
      return;
    }
    Configuration config = context.getConfiguration();
    LoggerConfig root = config.getRootLogger();
    root.removeAppender(appender.getName());
    removed.forEach((logger, appenders) ->
        appenders.values().forEach(a -> logger.addAppender(a, null, null)));
    context.updateLoggers();
    appender.stop();
  }
}
