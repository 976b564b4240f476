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
   * @param trial how a candidate is tried and judged
   * @param live how an ACTIVE rule is watched on live traffic
   * @param retireAfter an ACTIVE rule whose pattern has not recurred for this long is retired
   * @param punctuateInterval how often trial timeouts and retirements are checked (wall clock)
   * @param failedActionsKept recent failed actions remembered per rule, to sample trials from
   * @param actionRetention how long action items are remembered to re-issue them in a trial
   */
  public record Rules(double confidenceBar, Trial trial, Live live, Duration retireAfter,
      Duration punctuateInterval, int failedActionsKept, Duration actionRetention) {

    public Rules {
      Objects.requireNonNull(trial, "trial");
      Objects.requireNonNull(live, "live");
    }
  }

  /**
   * How a CANDIDATE is tried (see {@code rules.TrialPolicy}).
   *
   * @param sampleSize failed actions of the pattern re-run per arm (CONTROL, TREATMENT), when
   *     that many are known
   * @param minSampleSize fewer outcomes than this in either arm: REJECTED, sample too small
   * @param guardSize recently succeeded actions re-run with the rule (GUARD arm), when known
   * @param minGuardSize fewer GUARD outcomes than this: REJECTED, sample too small
   * @param sampleWait a trial starts as soon as {@code sampleSize} failures and
   *     {@code guardSize} successes are known, else this long after the proposal with what is
   *     known (or is rejected when that is below the minimums)
   * @param timeout a started trial is decided from what arrived after this (wall clock)
   * @param alpha significance level of the trial's one-sided test
   * @param durationRatio cost bound: mean duration with the rule may be at most this many times
   *     the mean without it (plus {@code durationSlackMs}); INCREASE_TIMEOUT uses 1 + its factor
   * @param durationSlackMs absolute slack on the cost bound: a run that fails fast is not
   *     comparable in cost with one that runs the tests to the end
   * @param guardPoolSize recently succeeded actions remembered per action type, to sample the
   *     GUARD arm from
   */
  public record Trial(int sampleSize, int minSampleSize, int guardSize, int minGuardSize,
      Duration sampleWait, Duration timeout, double alpha, double durationRatio,
      long durationSlackMs, int guardPoolSize) {

    public Trial {
      if (minSampleSize < 1 || sampleSize < minSampleSize) {
        throw new IllegalArgumentException("trial sample: need 1 <= min <= size");
      }
      if (minGuardSize < 0 || guardSize < minGuardSize || guardPoolSize < guardSize) {
        throw new IllegalArgumentException("guard sample: need 0 <= min <= size <= pool");
      }
      if (!(alpha > 0 && alpha < 1)) {
        throw new IllegalArgumentException("alpha must be in (0, 1)");
      }
    }
  }

  /**
   * How an ACTIVE rule is watched (see {@code rules.LivePolicy}).
   *
   * @param holdoutShare share of tasks (by a hash of the task id, decided at plan time) run
   *     without protocol rules, so that every rule always has a comparison; a task that sets
   *     {@code fractal.rules} itself is never held out
   * @param minHoldout held-out and treated actions needed before a rule can be retired as
   *     harmful
   * @param window outcomes kept per arm; a full window of held-out actions is needed before a
   *     rule can be retired because its benefit disappeared
   * @param minHurt the ExpeL-style counters retire a rule when it hurt at least this many
   *     actions and more than it helped
   * @param alpha significance level of the live tests
   * @param reportInterval how often changed counters are published on the rule record
   */
  public record Live(double holdoutShare, int minHoldout, int window, int minHurt, double alpha,
      Duration reportInterval) {

    public Live {
      if (holdoutShare < 0 || holdoutShare > 1) {
        throw new IllegalArgumentException("holdout share must be in [0, 1]");
      }
      if (minHoldout < 1 || window < minHoldout || minHurt < 1) {
        throw new IllegalArgumentException("live: need 1 <= minHoldout <= window, minHurt >= 1");
      }
    }
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
        new Rules(0.8,
            new Trial(5, 3, 5, 3, Duration.ofSeconds(20), Duration.ofSeconds(60), 0.05, 1.5, 500,
                20),
            // 5 % held out; the demo's tasks say fractal.rules=on|off themselves, so its
            // rules-off arm is its holdout and none of its tasks is left to chance
            new Live(0.05, 5, 50, 3, 0.05, Duration.ofSeconds(2)),
            Duration.ofMinutes(30), Duration.ofMillis(500), 20, Duration.ofHours(1)));
  }

  /**
   * Production-sized: hour windows hopping every 5 minutes with 1 minute of grace, 10 events
   * minimum, analyses awaited 10 s, trials of 8 per arm given 5 minutes, 5 % of tasks held out,
   * rules retired after 7 quiet days.
   */
  public static StreamsSettings production() {
    return new StreamsSettings(
        new Merge(Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofHours(6),
            Duration.ofHours(1)),
        new Patterns(Duration.ofHours(1), Duration.ofMinutes(5), Duration.ofMinutes(1), 10, 0.9),
        new Rules(0.8,
            new Trial(8, 5, 8, 5, Duration.ofMinutes(10), Duration.ofMinutes(5), 0.05, 1.5, 500,
                50),
            new Live(0.05, 30, 200, 5, 0.05, Duration.ofMinutes(1)),
            Duration.ofDays(7), Duration.ofSeconds(5), 50, Duration.ofHours(6)));
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
