package io.fractalrmo.streams.merge;

/**
 * A task waiting for its analyses: planned from what arrived once stream time reaches
 * {@code streamDeadline} or the wall clock reaches {@code wallDeadline}.
 */
public record PendingPlan(long streamDeadline, long wallDeadline, long firstSeenWall,
    long lastEventTs) {

  PendingPlan seen(long eventTs) {
    return new PendingPlan(streamDeadline, wallDeadline, firstSeenWall,
        Math.max(lastEventTs, eventTs));
  }

  boolean due(long streamTime, long wallTime) {
    return streamTime >= streamDeadline || wallTime >= wallDeadline;
  }
}
