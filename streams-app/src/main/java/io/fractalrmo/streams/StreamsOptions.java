package io.fractalrmo.streams;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How the streams role runs (the topology's tunables are in {@link #settings()}).
 *
 * @param applicationId Streams application id; empty = {@code <topic prefix>fractal-streams}
 * @param stateDir where the state stores live
 * @param threads stream threads
 * @param commitInterval commit interval (exactly-once: also the latency of visible output)
 * @param maxThreadReplacements a failed stream thread is replaced this many times, then the
 *     application shuts down
 * @param replicationFactor of internal topics; -1 = the broker's default
 * @param startTimeout how long {@link StreamsRole#start} waits for RUNNING without progress (no
 *     state change, no thread state or task change, no changelog record restored; 120 s by
 *     default: a rebalance with nothing to restore can take a minute on a loaded machine);
 *     while it progresses, up to
 *     {@value StreamsRole#START_CAP_FACTOR} times this
 * @param closeTimeout how long close() waits
 * @param settings topology tunables
 * @param extraProperties any further Streams/client properties (win over the above)
 */
public record StreamsOptions(Optional<String> applicationId, Path stateDir, int threads,
    Duration commitInterval, int maxThreadReplacements, short replicationFactor,
    Duration startTimeout, Duration closeTimeout, StreamsSettings settings,
    Map<String, Object> extraProperties) {

  public StreamsOptions {
    Objects.requireNonNull(applicationId, "applicationId");
    Objects.requireNonNull(stateDir, "stateDir");
    Objects.requireNonNull(settings, "settings");
    extraProperties = Map.copyOf(extraProperties);
  }

  public static StreamsOptions defaults(Path stateDir) {
    return new StreamsOptions(Optional.empty(), stateDir, 1, Duration.ofMillis(100), 3,
        (short) -1, Duration.ofSeconds(120), Duration.ofSeconds(30), StreamsSettings.demo(),
        Map.of());
  }

  public StreamsOptions withSettings(StreamsSettings s) {
    return new StreamsOptions(applicationId, stateDir, threads, commitInterval,
        maxThreadReplacements, replicationFactor, startTimeout, closeTimeout, s, extraProperties);
  }

  public StreamsOptions withApplicationId(String id) {
    return new StreamsOptions(Optional.of(id), stateDir, threads, commitInterval,
        maxThreadReplacements, replicationFactor, startTimeout, closeTimeout, settings,
        extraProperties);
  }

  public StreamsOptions withExtraProperties(Map<String, Object> extra) {
    return new StreamsOptions(applicationId, stateDir, threads, commitInterval,
        maxThreadReplacements, replicationFactor, startTimeout, closeTimeout, settings, extra);
  }
}
