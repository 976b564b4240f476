package io.fractalrmo.agentworkers.executor;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.ErrorCategory;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleActionKind;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.StringLength;

/** Invariants of rule application, cheaper stated than enumerated. */
class RuleInvariantsTest {

  @Property(tries = 200)
  void increasedTimeoutNeverShrinksAndStaysBounded(@ForAll @LongRange(min = 1, max = 200_000) long timeoutMs,
      @ForAll @DoubleRange(min = 1.01, max = 1e9) double factor) {
    ProtocolRule rule = Actions.rule("r", RuleActionKind.INCREASE_TIMEOUT, Map.of("factor", Double.toString(factor)),
        ErrorCategory.PERFORMANCE, "TimeoutError", null);
    AppliedRules.Rule checked = AppliedRules.forAction(Actions.execute("pass").build(), () -> List.of(rule)).all().get(0);
    long longer = AppliedRules.increasedTimeout(checked, timeoutMs);
    assertThat(longer).isGreaterThanOrEqualTo(timeoutMs);
    assertThat(longer).isLessThanOrEqualTo(Math.max(timeoutMs, AppliedRules.MAX_TIMEOUT_MS));
    assertThat((double) longer).isLessThanOrEqualTo(Math.ceil(timeoutMs * AppliedRules.MAX_TIMEOUT_FACTOR));
  }

  @Property(tries = 200)
  void anyFactorTextEitherParsesOrIsIgnored(@ForAll @StringLength(max = 12) String factor) {
    ProtocolRule rule = Actions.rule("r", RuleActionKind.INCREASE_TIMEOUT, Map.of("factor", factor),
        ErrorCategory.PERFORMANCE, "TimeoutError", null);
    List<AppliedRules.Rule> rules = AppliedRules.forAction(Actions.execute("pass").build(), () -> List.of(rule)).all();
    rules.forEach(r -> assertThat(AppliedRules.increasedTimeout(r, 1_000)).isBetween(1_000L, 4_000L));
  }

  @Property(tries = 200)
  void addedImportsKeepTheCodeAndComeAfterFutureImports(@ForAll @StringLength(max = 200) String body) {
    String code = "from __future__ import annotations\n" + body;
    String out = Programs.addImports(code, List.of("import math", "from typing import List"));
    assertThat(out).startsWith("from __future__ import annotations\n");
    assertThat(out.replace("from typing import List\n", "").replace("import math\n", ""))
        .isEqualTo(code.replace("from typing import List\n", "").replace("import math\n", ""));
  }
}
