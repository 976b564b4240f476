package io.fractalrmo.app.demo;

/** An error pattern the demo saw on {@code fractal.error-patterns}. */
public record PatternView(String patternKey, long frequency, double confidence,
    long windowStartMs, long windowEndMs, String suggestedAction, long seenAtMs) {
}
