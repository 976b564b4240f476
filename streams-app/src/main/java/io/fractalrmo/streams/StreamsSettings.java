package io.fractalrmo.streams;

import io.fractalrmo.contracts.InputLimits;
import java.time.Duration;
import java.util.Objects;

/**
 * Every tunable of the streams app's topologies, as one immutable value. {@link #demo()} lets a
 * demo learn within a minute; {@link #production()} documents sizes for a long-running cluster.
 *
 * @param merge plan merge: how long to wait for the five analyses of a task
 * @param patterns pattern extractor: windows and thresholds
 * @param rules protocol updater: confidence bar, trials, retirement
 */
public record StreamsSettings(Merge merge, Patterns patterns, Rules rules) {

  public StreamsSettings {
    Objects.requireNonNull(merge, "merge");
    Objects.requireNonNull(patterns, "patterns");
    Objects.requireNonNull(rules, "rules");
  }

  /**
   * @param analysisTimeout a task is planned from what arrived once this passed since its first
   *     record, by stream time or by wall-clock time, whichever comes first
   * @param punctuateInterval how often pending tasks are checked against their deadlines
   * @param plannedRetention how long a planned task is remembered, so late analyses and
   *     re-delivered tasks do not plan it twice
   * @param orphanTimeout analyses whose task never arrives are dropped (logged) after this
   * @param limits the operator's maxima and the input contract a task is planned under
   *     ({@code limits.*} settings)
   */
  public record Merge(Duration analysisTimeout, Duration punctuateInterval,
      Duration plannedRetention, Duration orphanTimeout, InputLimits limits) {

    public Merge {
      Objects.requireNonNull(limits, "limits");
    }

    /** With the default {@link InputLimits}. */
    public Merge(Duration analysisTimeout, Duration punctuateInterval, Duration plannedRetention,
        Duration orphanTimeout) {
      this(analysisTimeout, punctuateInterval, plannedRetention, orphanTimeout,
          InputLimits.defaults());
    }

    public Merge withLimits(InputLimits l) {
      return new Merge(analysisTimeout, punctuateInterval, plannedRetention, orphanTimeout, l);
    }
  }

  /**
   * @param windowSize hopping window size (event time)
   * @param advance hop
   * @param grace how late (event time) an event may be and still count in its windows
   * @param minOccurrences a window emits a pattern once it holds at least this many events
   * @param earlyEmitConfidence a window with enough events is emitted as soon as its confidence
   *     reaches this; otherwise when it closes
   */
  public record Patterns(Duration windowSize, Duration advance, Duration grace,
      int minOccurrences, double earlyEmitConfidence) {

    public Patterns {
      if (advance.isZero() || advance.compareTo(windowSize) > 0) {
        throw new IllegalArgumentException("window advance must be in (0, size]");
      }
      if (minOccurrences < 1) {
        throw new IllegalArgumentException("minOccurrences must be >= 1");
      }
    }
  }

  /**
   * @param confidenceBar a pattern at or above it proposes a CANDIDATE rule
   * @param trialSampleSize how many of the pattern's failed actions a trial re-runs (each twice)
   * @param trialTimeout a trial is decided from what arrived after this (wall clock)
   * @param durationRatio cost bound: mean duration with the rule may be at most this many times
   *     the mean without it (plus {@code durationSlackMs}); INCREASE_TIMEOUT uses 1 + its factor
   * @param durationSlackMs absolute slack on the cost bound: a run that fails fast is not
   *     comparable in cost with one that runs the tests to the end
   * @param retireAfter an ACTIVE rule whose pattern has not recurred for this long is retired
   * @param punctuateInterval how often trial timeouts and retirements are checked (wall clock)
   * @param failedActionsKept recent failed actions remembered per rule, to sample trials from
   * @param actionRetention how long action items are remembered to re-issue them in a trial
   */
  public record Rules(double confidenceBar, int trialSampleSize, Duration trialTimeout,
      double durationRatio, long durationSlackMs, Duration retireAfter,
      Duration punctuateInterval, int failedActionsKept, Duration actionRetention) {
  }

  /** Defaults for the demo and the tests: a burst of a few failures learns within a minute. */
  public static StreamsSettings demo() {
    return new StreamsSettings(
        // 15 s, not the 3 s this once was: in `fractal demo` the broker, the registry, five
        // analyzers, executors, the validator and this app share one 2-core machine, and a burst
        // of 100 tasks queues the analyses for several seconds; with 3 s, 75 of 100 demo tasks
        // were planned with all five analyses missing (so forbidden calls were not blocked).
        // A complete plan is still emitted the moment the fifth analysis arrives, so the bound
        // only costs time when an analyzer is really gone; the wall-clock punctuation keeps it
        // honoured when no new record moves stream time.
        new Merge(Duration.ofSeconds(15), Duration.ofMillis(500), Duration.ofHours(1),
            Duration.ofMinutes(10)),
        new Patterns(Duration.ofSeconds(30), Duration.ofSeconds(10), Duration.ofSeconds(5), 3,
            0.8),
        new Rules(0.8, 5, Duration.ofSeconds(60), 1.5, 500, Duration.ofMinutes(30),
            Duration.ofMillis(500), 20, Duration.ofHours(1)));
  }

  /**
   * Production-sized: hour windows hopping every 5 minutes with 1 minute of grace, 10 events
   * minimum, analyses awaited 10 s, trials given 5 minutes, rules retired after 7 quiet days.
   */
  public static StreamsSettings production() {
    return new StreamsSettings(
        new Merge(Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofHours(6),
            Duration.ofHours(1)),
        new Patterns(Duration.ofHours(1), Duration.ofMinutes(5), Duration.ofMinutes(1), 10, 0.9),
        new Rules(0.8, 5, Duration.ofMinutes(5), 1.5, 500, Duration.ofDays(7),
            Duration.ofSeconds(5), 50, Duration.ofHours(6)));
  }

  public StreamsSettings withMerge(Merge m) {
    return new StreamsSettings(m, patterns, rules);
  }

  /** The same settings with the plan's input limits replaced. */
  public StreamsSettings withLimits(InputLimits l) {
    return withMerge(merge.withLimits(l));
  }

  public StreamsSettings withPatterns(Patterns p) {
    return new StreamsSettings(merge, p, rules);
  }

  public StreamsSettings withRules(Rules r) {
    return new StreamsSettings(merge, patterns, r);
  }
}
