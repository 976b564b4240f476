package io.fractalrmo.streams.patterns;

import static io.fractalrmo.contracts.testing.Mothers.T0;
import static io.fractalrmo.contracts.testing.Mothers.anErrorEvent;
import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.PatternExample;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.TopicCatalog;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.testing.TopologyFixture;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Demo settings: windows of 30 s hopping by 10 s, 5 s grace, 3 events minimum, T0 on a hop. */
class PatternTopologyTest {

  private static final String KEY = "DEPENDENCY|NameError|typing";
  @RegisterExtension
  static final TopologyFixture fixture = new TopologyFixture();
  private TestInputTopic<String, ErrorEvent> errors;
  private TestOutputTopic<String, ErrorPattern> patterns;
  private final AtomicInteger ids = new AtomicInteger();

  @BeforeEach
  void setUp() {
    fixture.start((topics, serdes) -> PatternTopology.build(topics, StreamsSettings.demo(),
        serdes), T0);
    errors = fixture.input(TopicCatalog::errors, ErrorEvent.class);
    patterns = fixture.output(TopicCatalog::errorPatterns, ErrorPattern.class);
  }

  private void error(Instant at, String message) {
    int n = ids.incrementAndGet();
    errors.pipeInput("task-" + n, anErrorEvent().setErrorId("err-" + n).setTaskId("task-" + n)
        .setActionId("task-" + n + ":plan:1").setMessage(message).setOccurredAt(at).build(), at);
  }

  private void nameError(Instant at) {
    error(at, "name 'List' is not defined");
  }

  /** Moves stream time with an event of another pattern key. */
  private void streamTime(Instant at) {
    int n = ids.incrementAndGet();
    errors.pipeInput("other-" + n, anErrorEvent().setErrorId("other-" + n)
        .setCategory(ErrorCategory.RUNTIME).setErrorType("ValueError").setFixKey(null)
        .setOccurredAt(at).build(), at);
  }

  private static List<Long> startsSecondsFromT0(List<ErrorPattern> out) {
    return out.stream().map(p -> (p.getWindowStart().toEpochMilli() - T0.toEpochMilli()) / 1000)
        .sorted().toList();
  }

  @Test
  void shouldEmitOnePatternPerWindowWhenThreeAlikeFailuresArrive() {
    nameError(T0.plusSeconds(1));
    nameError(T0.plusSeconds(2));
    assertThat(patterns.isEmpty()).isTrue();
    nameError(T0.plusSeconds(3));
    nameError(T0.plusSeconds(4));   // the windows were emitted already: nothing more

    List<ErrorPattern> out = patterns.readValuesToList();
    // every event lies in three hopping windows: [-20,10), [-10,20), [0,30)
    assertThat(startsSecondsFromT0(out)).containsExactly(-20L, -10L, 0L);
    ErrorPattern p = out.get(0);
    assertThat(p.getPatternKey()).isEqualTo(KEY);
    assertThat(p.getFrequency()).isEqualTo(3);
    assertThat(p.getConfidence()).isEqualTo(0.8);
    assertThat(p.getExamples()).extracting(PatternExample::getActionId)
        .containsExactly("task-1:plan:1", "task-2:plan:1", "task-3:plan:1");
    assertThat(p.getSuggestedAction()).isEqualTo(RuleActionKind.ADD_MISSING_IMPORTS);
    assertThat(p.getSuggestedFix()).contains("import typing");
    assertThat(p.getFixKey()).isEqualTo("typing");
    assertThat(p.getLateEvents()).isZero();
    assertThat(p.getWindowEnd().toEpochMilli() - p.getWindowStart().toEpochMilli())
        .isEqualTo(30_000);
  }

  @Test
  void shouldNotEmitBelowTheMinimumOccurrences() {
    nameError(T0.plusSeconds(1));
    nameError(T0.plusSeconds(2));
    streamTime(T0.plusSeconds(120));
    assertThat(patterns.readValuesToList()).noneMatch(p -> p.getPatternKey().equals(KEY));
  }

  @Test
  void shouldEmitAnInconsistentPatternOnlyWhenItsWindowCloses() {
    error(T0.plusSeconds(1), "name 'List' is not defined");
    error(T0.plusSeconds(2), "something else went wrong");
    error(T0.plusSeconds(3), "a third, different message");
    assertThat(patterns.isEmpty()).isTrue();   // confidence 0.53 < 0.8: wait for the close

    streamTime(T0.plusSeconds(16));   // closes [-20,10): 10 + 5 <= 16
    assertThat(startsSecondsFromT0(patterns.readValuesToList())).containsExactly(-20L);
    streamTime(T0.plusSeconds(40));   // closes the other two
    List<ErrorPattern> rest = patterns.readValuesToList();
    assertThat(startsSecondsFromT0(rest)).containsExactly(-10L, 0L);
    assertThat(rest).allSatisfy(p -> {
      assertThat(p.getFrequency()).isEqualTo(3);
      assertThat(p.getConfidence()).isEqualTo(Confidence.of(3, 1.0 / 3));
    });
  }

  @Test
  void shouldCountSyntaxErrorsAsAlikeWhateverTheParserSaid() {
    // compile-first is the fix of every syntax error: their messages do not lower confidence
    String[] messages = {"expected ':'", "'(' was never closed", "invalid syntax"};
    for (int i = 0; i < 3; i++) {
      int n = ids.incrementAndGet();
      errors.pipeInput("task-" + n, anErrorEvent().setErrorId("err-" + n).setTaskId("task-" + n)
          .setActionId("task-" + n + ":plan:1").setCategory(ErrorCategory.SYNTAX)
          .setErrorType("SyntaxError").setFixKey(null).setMessage(messages[i])
          .setOccurredAt(T0.plusSeconds(i + 1)).build(), T0.plusSeconds(i + 1));
    }
    List<ErrorPattern> out = patterns.readValuesToList();
    assertThat(out).hasSize(3).allSatisfy(p -> {
      assertThat(p.getPatternKey()).isEqualTo("SYNTAX|SyntaxError|");
      assertThat(p.getConfidence()).isEqualTo(0.8);
      assertThat(p.getSuggestedAction()).isEqualTo(RuleActionKind.PRE_VALIDATE_SYNTAX);
    });
  }

  @Test
  void shouldIgnoreTrialFailures() {
    for (int i = 1; i <= 5; i++) {
      errors.pipeInput("task-" + i, anErrorEvent().setErrorId("e" + i).setTrialId("trial-1")
          .setOccurredAt(T0.plusSeconds(i)).build(), T0.plusSeconds(i));
    }
    assertThat(patterns.isEmpty()).isTrue();
  }

  @Test
  void shouldKeepPatternKeysApart() {
    for (int i = 1; i <= 3; i++) {
      nameError(T0.plusSeconds(i));
      int n = ids.incrementAndGet();
      errors.pipeInput("t" + n, anErrorEvent().setErrorId("m" + n).setActionId("a" + n)
          .setFixKey("math").setMessage("name 'sqrt' is not defined")
          .setOccurredAt(T0.plusSeconds(i)).build(), T0.plusSeconds(i));
    }
    assertThat(patterns.readKeyValuesToList()).extracting(kv -> kv.key)
        .containsOnly(KEY, "DEPENDENCY|NameError|math").hasSize(6);
  }

  /**
   * Two failures at T0+1 s and T0+2 s, then stream time is moved to {@code streamTimeS}, then
   * the third failure arrives with event time {@code eventS}: the windows that still accept it
   * reach three events and emit.
   */
  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = ';', value = {
      // on time: all three windows of the event accept it
      "on time;                                  3;  3;  -20 -10 0;  0",
      // 11 s late, but [-20,10) closes only at 10 + 5 = 15 s: within grace for every window
      "late within grace;                        14; 3;  -20 -10 0;  0",
      // stream time 14.999 s: still 1 ms inside the grace of [-20,10)
      "1 ms before the grace ends;              14.999; 3; -20 -10 0; 0",
      // stream time 15 s = end 10 + grace 5: [-20,10) is closed, the two later windows accept
      "grace just over for the oldest window;   15; 3;  -10 0;      0",
      // at a hop boundary: T0+10 s starts [10,40) and is outside [-20,10) (end exclusive)
      "on a window edge;                         10; 10; -10 0;      0",
      // every window of the event closed (latest ends at 30, 30 + 5 <= 40): counted as late
      "too late for every window;                40; 3;  '';         1",
  })
  void shouldHonourWindowEdgesAndGrace(String description, double streamTimeS, double eventS,
      String expectedStarts, long expectedLate) {
    nameError(T0.plusSeconds(1));
    nameError(T0.plusSeconds(2));
    streamTime(T0.plusMillis((long) (streamTimeS * 1000)));
    patterns.readValuesToList();
    nameError(T0.plusMillis((long) (eventS * 1000)));

    List<Long> expected = expectedStarts.isBlank() ? List.of()
        : java.util.Arrays.stream(expectedStarts.trim().split("\\s+")).map(Long::valueOf).toList();
    List<ErrorPattern> out = patterns.readValuesToList().stream()
        .filter(p -> p.getPatternKey().equals(KEY)).toList();
    assertThat(startsSecondsFromT0(out)).as(description).containsExactlyElementsOf(expected);

    // the late count shows on the key's next pattern
    nameError(T0.plusSeconds(61));
    nameError(T0.plusSeconds(62));
    nameError(T0.plusSeconds(63));
    assertThat(patterns.readValuesToList()).filteredOn(p -> p.getPatternKey().equals(KEY))
        .isNotEmpty().allSatisfy(p -> assertThat(p.getLateEvents()).isEqualTo(expectedLate));
  }
}
