package io.fractalrmo.contracts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.contracts.FindingPolicy.Confinement;
import io.fractalrmo.contracts.FindingPolicy.Decision;
import io.fractalrmo.contracts.testing.Mothers;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The input contract, the operator's maxima, the finding policy and the string bounds. */
class InputContractTest {

  static final InputLimits LIMITS = InputLimits.defaults();

  static List<String> contracts(Task t) {
    return LIMITS.violations(t).stream().map(InputLimits.Violation::contract).toList();
  }

  @Nested
  class TaskContract {

    @Test
    void shouldAcceptTheMothersTask() {
      assertThat(LIMITS.violations(Mothers.aTask().build())).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"f); import os; os.system('id'", "my-func", "1abc", "class", "a b",
        "fünf", "add\n"})
    void shouldRejectAnEntryPointThatIsNotAPythonIdentifier(String entry) {
      Task t = Mothers.aTask().setEntryPoint(entry).build();
      assertThat(contracts(t)).containsExactly("entry-point");
      assertThat(LIMITS.violations(t).get(0).reason()).contains("not a Python identifier");
    }

    @ParameterizedTest
    @ValueSource(strings = {"add", "_f", "f2", "match", "HasCase_9"})
    void shouldAcceptIdentifiers(String entry) {
      assertThat(contracts(Mothers.aTask().setEntryPoint(entry).build())).isEmpty();
    }

    @Test
    void shouldRejectOversizedCodeTestsAndDescriptionNamingTheSetting() {
      String big = "x = 1\n".repeat(20_000); // 120 000 bytes
      Task t = Mothers.aTask().setCode(big).setTestCode(big).setDescription(big).build();
      assertThat(contracts(t)).containsExactly("code-size", "test-code-size", "description-size");
      assertThat(LIMITS.violations(t).get(0).reason())
          .contains("120000 bytes").contains("limits.max-code-bytes");
    }

    @Test
    void shouldCountBytesNotCharacters() {
      InputLimits small = InputLimits.fromSettings(Map.of("limits.max-code-bytes", "10"));
      assertThat(small.violations(Mothers.aTask().setCode("ééééé").build())).isEmpty(); // 10 B
      assertThat(small.violations(Mothers.aTask().setCode("éééééé").build())).hasSize(1);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "priority 0, priority", "priority 6, priority", "level 0, validation-level",
        "level 5, validation-level", "negative time, time-limit", "memory 0, memory-limit",
        "language, language"})
    void shouldRejectOutOfRangeFields(String what, String contract) {
      Task.Builder b = Mothers.aTask();
      switch (what) {
        case "priority 0" -> b.setPriority(0);
        case "priority 6" -> b.setPriority(6);
        case "level 0" -> b.setValidationLevel(0);
        case "level 5" -> b.setValidationLevel(5);
        case "negative time" -> b.setTimeLimitMs(-1L);
        case "memory 0" -> b.setMemoryLimitMb(0);
        case "language" -> b.setLanguage(Language.UNKNOWN);
        default -> throw new IllegalArgumentException(what);
      }
      assertThat(contracts(b.build())).containsExactly(contract);
    }

    @Test
    void shouldRejectTooManyOrTooLargeAttributes() {
      Map<String, String> many = new java.util.HashMap<>();
      for (int i = 0; i < 65; i++) {
        many.put("k" + i, "v");
      }
      assertThat(contracts(Mothers.aTask().setAttributes(many).build()))
          .containsExactly("attributes");
      assertThat(contracts(Mothers.aTask().setAttributes(Map.of("k", "v".repeat(2000))).build()))
          .containsExactly("attributes");
    }

    @Test
    void shouldClipTimeAndMemoryRatherThanReject() {
      Task t = Mothers.aTask().setTimeLimitMs(1_200_000L).setMemoryLimitMb(100_000).build();
      assertThat(LIMITS.violations(t)).isEmpty();
      assertThat(LIMITS.clipTimeLimit(1_200_000)).isEqualTo(60_000);
      assertThat(LIMITS.clipMemory(100_000)).isEqualTo(1_024);
      assertThat(LIMITS.timeClipNote(1_200_000))
          .isEqualTo("time limit 1200000 ms clipped to 60000 ms (limits.max-time-limit-ms)");
    }
  }

  @Nested
  class ActionContract {

    @Test
    void shouldRejectAnActionAnotherProducerWroteWithAnInjectedEntryPoint() {
      ActionItem a = Mothers.anActionItem().setInput(Mothers.anInput()
          .setEntryPoint("add)\nimport os\nos.system('id')\n(").build()).build();
      assertThat(LIMITS.violations(a)).extracting(InputLimits.Violation::contract)
          .containsExactly("entry-point");
    }

    @Test
    void shouldRejectNonsenseConstraintsAndNetwork() {
      ActionItem a = Mothers.anActionItem().setType(ActionType.UNKNOWN)
          .setConstraints(ExecutionConstraints.newBuilder().setTimeoutMs(0).setMemoryMb(0)
              .setNetworkAllowed(true).build()).build();
      assertThat(LIMITS.violations(a)).extracting(InputLimits.Violation::contract)
          .containsExactly("action-type", "time-limit", "memory-limit", "network");
    }
  }

  @Nested
  class Settings {

    @Test
    void shouldReadEverySettingAndRoundTrip() {
      InputLimits l = InputLimits.fromSettings(Map.of("limits.max-time-limit-ms", "3_000",
          "limits.max-output-bytes", "1024", "sandbox.warm-pool", "3"));
      assertThat(l.maxTimeLimitMs()).isEqualTo(3_000);
      assertThat(l.maxOutputBytes()).isEqualTo(1_024);
      assertThat(InputLimits.fromSettings(l.asSettings())).isEqualTo(l);
      assertThat(InputLimits.SETTINGS).extracting(InputLimits.Setting::key)
          .allMatch(k -> k.startsWith("limits."));
    }

    @Test
    void shouldRefuseAnUnknownLimitOrOneOutOfRange() {
      assertThatThrownBy(() -> InputLimits.fromSettings(Map.of("limits.max-time-limit", "5")))
          .hasMessageContaining("unknown setting limits.max-time-limit");
      assertThatThrownBy(() -> InputLimits.fromSettings(Map.of("limits.max-code-bytes", "9999999")))
          .hasMessageContaining("limits.max-code-bytes must be in");
      assertThatThrownBy(() -> InputLimits.fromSettings(Map.of("limits.max-memory-mb", "lots")))
          .hasMessageContaining("whole number");
    }
  }

  @Nested
  class Policy {

    Finding security(String type, Severity severity, boolean blocking) {
      return Finding.newBuilder().setType(type).setSeverity(severity).setLine(1)
          .setDescription(type).setAspect(Aspect.SECURITY).setBlocking(blocking).build();
    }

    @ParameterizedTest(name = "{0}: confined {1}, unconfined {2}")
    @CsvSource({
        // intent to get out blocks whatever the layers hold (the demo's FORBIDDEN_CALL needs these)
        "OS_COMMAND, BLOCK, BLOCK", "SUBPROCESS, BLOCK, BLOCK", "NETWORK_ACCESS, BLOCK, BLOCK",
        "NATIVE_CODE, BLOCK, BLOCK",
        // harmless when confined (HumanEval/160), the only defence when not
        "EVAL_CALL, RECORD, BLOCK", "EXEC_CALL, RECORD, BLOCK",
        "DYNAMIC_IMPORT, ALERT, BLOCK", "FILE_WRITE_OUTSIDE_WORKDIR, ALERT, BLOCK",
        "FILE_WRITE, RECORD, ALERT", "RISKY_IMPORT, RECORD, ALERT",
        "HARDCODED_SECRET, ALERT, ALERT",
        // a type the table does not know: by severity, failing safe
        "SOMETHING_NEW, BLOCK, BLOCK"})
    void shouldDecidePerFindingTypeAndConfinement(String type, Decision confined,
        Decision unconfined) {
      Finding f = security(type, Severity.HIGH, true);
      assertThat(FindingPolicy.decide(f, Confinement.CONFINED)).isEqualTo(confined);
      assertThat(FindingPolicy.decide(f, Confinement.UNCONFINED)).isEqualTo(unconfined);
    }

    @Test
    void shouldNeverBlockOnOtherAspectsAndAlwaysBlockAContractViolation() {
      Finding syntax = Finding.newBuilder().setType("SYNTAX_ERROR").setSeverity(Severity.HIGH)
          .setDescription("x").setAspect(Aspect.SYNTAX).setBlocking(true).build();
      assertThat(FindingPolicy.decide(syntax, Confinement.UNCONFINED)).isEqualTo(Decision.RECORD);
      Finding contract = Finding.newBuilder(syntax).setType(FindingPolicy.CONTRACT_VIOLATION)
          .setAspect(Aspect.UNKNOWN).build();
      assertThat(FindingPolicy.decide(contract, Confinement.CONFINED)).isEqualTo(Decision.BLOCK);
    }

    @Test
    void shouldSetTheAnalyzersFlagFromTheConfinedColumn() {
      assertThat(FindingPolicy.withPolicyFlag(security("EVAL_CALL", Severity.HIGH, true))
          .getBlocking()).isFalse();
      assertThat(FindingPolicy.withPolicyFlag(security("OS_COMMAND", Severity.HIGH, false))
          .getBlocking()).isTrue();
      assertThat(FindingPolicy.decide(security("NEW_LOW", Severity.LOW, false),
          Confinement.CONFINED)).isEqualTo(Decision.RECORD);
    }

    @Test
    void shouldCallBubblewrapOrLandlockConfined() {
      assertThat(Confinement.ofLayers(List.of("rlimits", "bubblewrap"))).isEqualTo(Confinement.CONFINED);
      assertThat(Confinement.ofLayers(List.of("landlock", "seccomp"))).isEqualTo(Confinement.CONFINED);
      assertThat(Confinement.ofLayers(List.of("rlimits", "uid"))).isEqualTo(Confinement.UNCONFINED);
      assertThat(Confinement.ofLayers(List.of())).isEqualTo(Confinement.UNCONFINED);
    }
  }

  @Nested
  class RecordSizes {

    /** The largest ExecutionResult the contract lets through, at the given limits. */
    ExecutionResult largest(InputLimits l) {
      String code = "x".repeat(l.maxCodeBytes());
      String tests = "t".repeat(l.maxTestCodeBytes());
      List<Finding> findings = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        findings.add(Finding.newBuilder().setType("T".repeat(200)).setSeverity(Severity.HIGH).setLine(i)
            .setDescription("d".repeat(5_000)).setAspect(Aspect.SECURITY).setBlocking(true).build());
      }
      Map<String, String> attributes = new java.util.HashMap<>();
      for (int i = 0; i < InputLimits.MAX_ATTRIBUTES; i++) {
        attributes.put(("k" + i + "-").repeat(60).substring(0, InputLimits.MAX_ATTRIBUTE_KEY_BYTES),
            "v".repeat(InputLimits.MAX_ATTRIBUTE_VALUE_BYTES));
      }
      ActionItem action = Mothers.anActionItem()
          .setTaskId("i".repeat(InputLimits.MAX_TASK_ID_BYTES))
          .setInput(ExecutionInput.newBuilder().setCode(code).setTestCode(tests).setEntryPoint("e".repeat(255))
              .setPrompt("p".repeat(l.maxDescriptionBytes())).build())
          .setFindings(Bounded.findings(findings)).setAttributes(attributes).build();
      assertThat(l.violations(action)).isEmpty();
      ErrorDetail error = Bounded.error(ErrorDetail.newBuilder().setType("E".repeat(10_000))
          .setMessage("m".repeat(100_000)).setTraceback("t".repeat(100_000)).setLine(1).build());
      return Mothers.anExecutionResult().setTaskId(action.getTaskId()).setAction(action)
          .setCode(code + "\nimport math\n".repeat(100)).setStdout(Bounded.utf8("o".repeat(200_000), l.maxOutputBytes()))
          .setStderr(Bounded.utf8("e".repeat(200_000), l.maxOutputBytes())).setError(error)
          .setFindings(Bounded.findings(findings)).setClipped(List.of("c".repeat(200), "c".repeat(200)))
          .setIsolationLayers(List.of("bubblewrap", "landlock", "seccomp", "uid", "rlimits")).build();
    }

    long avroBytes(ExecutionResult r) throws java.io.IOException {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      org.apache.avro.io.BinaryEncoder enc = org.apache.avro.io.EncoderFactory.get().binaryEncoder(out, null);
      new org.apache.avro.specific.SpecificDatumWriter<>(ExecutionResult.class).write(r, enc);
      enc.flush();
      return out.size();
    }

    @Test
    void shouldKeepTheLargestResultTheContractAllowsWellBelowTheBrokersMegabyte() throws Exception {
      long defaults = avroBytes(largest(InputLimits.defaults()));
      Map<String, String> max = new java.util.HashMap<>();
      InputLimits.SETTINGS.forEach(s -> max.put(s.key(), Long.toString(s.max())));
      long largestSettings = avroBytes(largest(InputLimits.fromSettings(max)));
      System.out.printf("largest ExecutionResult: %d bytes with the default limits, %d with every limit at its "
          + "maximum (Kafka's default message size: 1048588)%n", defaults, largestSettings);
      assertThat(defaults).isLessThan(512 * 1024);
      assertThat(largestSettings).isLessThan(800 * 1024);
    }
  }

  @Nested
  class Bounds {

    @Test
    void shouldCutTextKeepingTheHeadAndSayingHowMuch() {
      String s = "a".repeat(5_000);
      String b = Bounded.text(s, Bounded.MESSAGE_CHARS);
      assertThat(b).hasSizeLessThanOrEqualTo(Bounded.MESSAGE_CHARS).startsWith("aaa")
          .contains("more chars cut");
      assertThat(Bounded.text("short", 10)).isEqualTo("short");
      assertThat(Bounded.text(null, 10)).isNull();
    }

    @Test
    void shouldKeepATracebacksTail() {
      String tb = "x".repeat(20_000) + "ValueError: boom";
      assertThat(Bounded.tail(tb, Bounded.TRACEBACK_CHARS))
          .hasSizeLessThanOrEqualTo(Bounded.TRACEBACK_CHARS).endsWith("ValueError: boom");
    }

    @Test
    void shouldNotSplitACharacterWhenCuttingBytes() {
      String s = "é".repeat(100); // 200 bytes
      String cut = Bounded.utf8(s, 51);
      assertThat(cut).isEqualTo("é".repeat(25));
      assertThat(Bounded.utf8Length("a😀é")).isEqualTo(1 + 4 + 2);
    }

    @Test
    void shouldKeepAtMostTheMaximumOfFindingsBlockingFirst() {
      List<Finding> many = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        many.add(Finding.newBuilder().setType("T" + i).setSeverity(Severity.LOW).setLine(i)
            .setDescription("d".repeat(2_000)).setAspect(Aspect.LOGIC).setBlocking(false).build());
      }
      many.set(150, Finding.newBuilder(many.get(150)).setType("OS_COMMAND")
          .setAspect(Aspect.SECURITY).setBlocking(true).setSeverity(Severity.HIGH).build());
      List<Finding> kept = Bounded.findings(many);
      assertThat(kept).hasSize(Bounded.MAX_FINDINGS);
      assertThat(kept).extracting(Finding::getType).contains("OS_COMMAND");
      assertThat(kept.get(kept.size() - 1).getType()).isEqualTo(Bounded.FINDINGS_TRUNCATED);
      assertThat(kept.get(kept.size() - 1).getDescription()).startsWith("137 more finding(s)");
      assertThat(kept).allSatisfy(f -> assertThat(f.getDescription())
          .hasSizeLessThanOrEqualTo(Bounded.FINDING_DESCRIPTION_CHARS));
    }
  }
}
