package io.fractalrmo.agentworkers.rules;

import io.fractalrmo.contracts.ProtocolRule;
import java.util.List;

/** The protocol rules currently active (a snapshot; implementations follow fractal.protocol-rules). */
public interface RuleBook {
  List<ProtocolRule> activeRules();
}
