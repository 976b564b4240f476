package io.fractalrmo.streams.patterns;

/**
 * Per window and key: whether its pattern was emitted, and while it was not, the latest
 * accumulator to emit when the window closes.
 */
public record EmitState(boolean emitted, PatternAccumulator pending, long windowStart,
    long windowEnd) {
}
