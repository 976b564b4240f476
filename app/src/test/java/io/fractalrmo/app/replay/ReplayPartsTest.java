package io.fractalrmo.app.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.TrialRule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pure parts of {@code fractal replay}: --since, the rule file, the per-rule difference. */
class ReplayPartsTest {

  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-01T10:00:00Z"), ZoneOffset.UTC);

  @Test
  void shouldReadSinceAsAnOffsetAnInstantOrADurationBack() {
    assertThat(ReplayRunner.Since.parse("1200", CLOCK).offset()).isEqualTo(1200L);
    assertThat(ReplayRunner.Since.parse("2026-12-01T09:00:00Z", CLOCK).time())
        .isEqualTo(Instant.parse("2026-12-01T09:00:00Z"));
    assertThat(ReplayRunner.Since.parse("30m", CLOCK).time())
        .isEqualTo(Instant.parse("2026-12-01T09:30:00Z"));
    assertThat(ReplayRunner.Since.parse("PT2H", CLOCK).time())
        .isEqualTo(Instant.parse("2026-12-01T08:00:00Z"));
    assertThatThrownBy(() -> ReplayRunner.Since.parse("yesterday", CLOCK))
        .hasMessageContaining("neither an offset");
  }

  @Test
  void shouldReadARuleFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("rules.json");
    Files.writeString(file, """
        {"rules": [
          {"rule_id": "r1", "condition": {"category": "syntax", "error_type": "SyntaxError"},
           "action": {"kind": "PRE_VALIDATE_SYNTAX"}},
          {"condition": {"category": "DEPENDENCY", "fix_key": "math"},
           "action": {"kind": "ADD_MISSING_IMPORTS", "parameters": {"imports": "math"}},
           "status": "ACTIVE", "version": 3}]}
        """);
    List<TrialRule> rules = ReplayRules.read(file);
    assertThat(rules).extracting(TrialRule::getRuleId)
        .containsExactly("r1", "file-rule-2-add_missing_imports");
    assertThat(rules.get(0).getCondition().getCategory()).isEqualTo(ErrorCategory.SYNTAX);
    assertThat(rules.get(1).getAction().getKind()).isEqualTo(RuleActionKind.ADD_MISSING_IMPORTS);
    assertThat(rules.get(1).getAction().getParameters()).containsEntry("imports", "math");
    Files.writeString(file, "[{\"condition\": {\"category\": \"SYNTAX\"}, \"action\": {}}]");
    assertThatThrownBy(() -> ReplayRules.read(file)).hasMessageContaining("missing kind");
  }

  @Test
  void shouldSayWhatEachRuleFixedBrokeOrWasNeededFor() {
    List<ReplayReport.Item> items = List.of(
        // failed live, passes with the new rule
        new ReplayReport.Item("t1", "t1:plan:1", false, List.of(), true, List.of("new"), null),
        // passed live, fails with it: broke
        new ReplayReport.Item("t2", "t2:plan:1", true, List.of(), false, List.of("new"), "X"),
        // passed live thanks to "old", fails without it: old was needed
        new ReplayReport.Item("t3", "t3:plan:1", true, List.of("old"), false, List.of(), "Y"),
        // no verdict in time: left out of the difference
        new ReplayReport.Item("t4", "t4:plan:1", false, List.of("old"), null, List.of(), null));
    ReplayReport r = new ReplayReport("replay.x", "rules.json", List.of("new", "unused"), items,
        2, 7);
    assertThat(r.fixed()).isEqualTo(1);
    assertThat(r.broke()).isEqualTo(2);
    assertThat(r.unanswered()).isEqualTo(1);
    assertThat(r.rules()).containsExactly(
        new ReplayReport.RuleDiff("new", true, 2, 1, 1, 0, 0),
        new ReplayReport.RuleDiff("unused", true, 0, 0, 0, 0, 0),
        new ReplayReport.RuleDiff("old", false, 0, 0, 0, 1, 0));
    assertThat(r.toTable()).contains("fixed 1, broke 2", "1 without a verdict",
        "applied live, left out: 1 fail without it");
    assertThat(r.toJson()).contains("\"fail_without_it\" : 1");
  }
}
