package io.fractalrmo.streams.merge;

import io.fractalrmo.contracts.Aspect;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * When an analysis of each aspect last reached the merge, over all the partitions this app
 * instance plans (one per topology, shared by its merge processors; thread-safe). Per partition
 * would be wrong: an analyzer works through its partitions one after another, so in a burst the
 * merge of one partition hears nothing from a busy aspect while it analyses another partition's
 * tasks. An aspect whose instance for one partition died is taken over by another instance of its
 * consumer group within a session timeout.
 */
final class AnalyzerLiveness {

  private static final long NEVER = Long.MIN_VALUE;
  private final Map<Aspect, AtomicLong> lastHeard = new EnumMap<>(Aspect.class);

  AnalyzerLiveness() {
    for (Aspect a : PlanPolicy.ASPECTS) {
      lastHeard.put(a, new AtomicLong(NEVER));
    }
  }

  void heard(Aspect aspect, long wallMs) {
    AtomicLong last = lastHeard.get(aspect);
    if (last != null) {
      last.accumulateAndGet(wallMs, Math::max);
    }
  }

  /** Whether an analysis of {@code aspect} arrived within {@code withinMs} before {@code wallMs}. */
  boolean working(Aspect aspect, long wallMs, long withinMs) {
    AtomicLong last = lastHeard.get(aspect);
    long heard = last == null ? NEVER : last.get();
    return heard != NEVER && wallMs - heard < withinMs;
  }
}
