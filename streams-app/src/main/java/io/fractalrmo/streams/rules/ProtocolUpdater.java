package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleCondition;
import io.fractalrmo.contracts.RuleEvidence;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialPhase;
import io.fractalrmo.contracts.TrialSpec;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.merge.PlanPolicy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rule life cycle, keyed by rule id, every decision kept in a store (restored from its
 * changelog, so a restart neither loses nor repeats one):
 * <ol>
 *   <li>a pattern at or above the confidence bar proposes a CANDIDATE (version 1, or the next
 *       version after a RETIRED or REJECTED one);</li>
 *   <li>a trial starts as soon as failed actions of the pattern are known: up to
 *       {@code trialSampleSize} of them are re-issued twice as trial action items (CONTROL
 *       without the rule, TREATMENT with it) and a RuleTrial STARTED is written;</li>
 *   <li>when every trial outcome is in, or the trial timeout passes (wall clock), the
 *       {@link TrialPolicy} decides: ACTIVE (next version, trial figures) or REJECTED; the
 *       RuleTrial COMPLETED carries the figures;</li>
 *   <li>a CANDIDATE for which no failed action arrives within the trial timeout is REJECTED
 *       (never trusted untried);</li>
 *   <li>a REJECTED rule is proposed again only on new evidence: failures of the pattern after
 *       the rejection (the tried ones are forgotten) and a pattern window reaching past it;</li>
 *   <li>an ACTIVE rule whose pattern has not recurred for {@code retireAfter} (wall clock) is
 *       RETIRED, then tombstoned.</li>
 * </ol>
 */
final class ProtocolUpdater implements Processor<String, SpecificRecord, String, SpecificRecord> {

  private static final Logger LOG = LoggerFactory.getLogger(ProtocolUpdater.class);
  private static final StringSerializer PREFIX = new StringSerializer();

  private final StreamsSettings.Rules settings;
  private ProcessorContext<String, SpecificRecord> context;
  private KeyValueStore<String, ProtocolRule> rules;
  private KeyValueStore<String, RuleTrial> trials;
  private KeyValueStore<String, ValidationOutcome> outcomes;
  private KeyValueStore<String, ActionItem> failed;
  private KeyValueStore<String, Long> lastSeen;

  ProtocolUpdater(StreamsSettings.Rules settings) {
    this.settings = settings;
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
    rules = context.getStateStore(ProtocolUpdaterTopology.RULES_STORE);
    trials = context.getStateStore(ProtocolUpdaterTopology.TRIALS_STORE);
    outcomes = context.getStateStore(ProtocolUpdaterTopology.OUTCOMES_STORE);
    failed = context.getStateStore(ProtocolUpdaterTopology.FAILED_ACTIONS_STORE);
    lastSeen = context.getStateStore(ProtocolUpdaterTopology.LAST_SEEN_STORE);
    context.schedule(settings.punctuateInterval(), PunctuationType.WALL_CLOCK_TIME, this::tick);
  }

  @Override
  public void process(Record<String, SpecificRecord> record) {
    String ruleId = record.key();
    if (ruleId == null || record.value() == null) {
      return;
    }
    if (record.value() instanceof ErrorPattern pattern) {
      onPattern(ruleId, pattern);
    } else if (record.value() instanceof ActionItem action) {
      onFailedAction(ruleId, action, record.timestamp());
    } else if (record.value() instanceof ValidationOutcome outcome) {
      onTrialOutcome(ruleId, outcome);
    }
  }

  private void onPattern(String ruleId, ErrorPattern pattern) {
    long now = context.currentSystemTimeMs();
    ProtocolRule rule = rules.get(ruleId);
    if (rule != null && rule.getStatus() == RuleStatus.ACTIVE) {
      lastSeen.put(ruleId, now);
      return;
    }
    if (pattern.getConfidence() < settings.confidenceBar()) {
      return;
    }
    if (rule == null || rule.getStatus() == RuleStatus.RETIRED) {
      propose(ruleId, pattern, rule == null ? 1 : rule.getVersion() + 1, now);
    } else if (rule.getStatus() == RuleStatus.REJECTED) {
      boolean newEvidence = !failedActions(ruleId).isEmpty()
          && pattern.getWindowEnd().isAfter(rule.getUpdatedAt());
      if (newEvidence) {
        propose(ruleId, pattern, rule.getVersion() + 1, now);
      } else {
        LOG.debug("rule {} was rejected; pattern {} brings no new evidence", ruleId,
            pattern.getPatternKey());
      }
    } else if (rule.getStatus() == RuleStatus.CANDIDATE) {
      maybeStartTrial(ruleId, now);
    }
  }

  private void propose(String ruleId, ErrorPattern p, int version, long now) {
    ProtocolRule previous = rules.get(ruleId);
    ProtocolRule candidate = ProtocolRule.newBuilder()
        .setRuleId(ruleId)
        .setVersion(version)
        .setDescription(p.getSuggestedFix() + " (on " + p.getPatternKey() + ")")
        .setCondition(RuleCondition.newBuilder().setCategory(p.getCategory())
            .setErrorType(p.getErrorType()).setActionType(null).setFixKey(p.getFixKey()).build())
        .setAction(RuleAction.newBuilder().setKind(p.getSuggestedAction())
            .setParameters(RuleParameters.of(p)).build())
        .setConfidence(p.getConfidence())
        .setStatus(RuleStatus.CANDIDATE)
        .setStatusReason(String.format(java.util.Locale.ROOT,
            "pattern seen %d times in [%s, %s) with confidence %.2f", p.getFrequency(),
            p.getWindowStart(), p.getWindowEnd(), p.getConfidence()))
        .setEvidence(RuleEvidence.newBuilder().setPatternKey(p.getPatternKey())
            .setFrequency(p.getFrequency()).setWindowStart(p.getWindowStart())
            .setWindowEnd(p.getWindowEnd()).setExamples(p.getExamples()).build())
        .setTrial(null)
        .setCreatedAt(previous == null ? Instant.ofEpochMilli(now) : previous.getCreatedAt())
        .setUpdatedAt(Instant.ofEpochMilli(now))
        .build();
    LOG.info("rule {} v{} proposed: {}", ruleId, version, candidate.getDescription());
    publish(candidate, now);
    maybeStartTrial(ruleId, now);
  }

  private void onFailedAction(String ruleId, ActionItem action, long ts) {
    List<KeyValue<String, ActionItem>> known = failedActions(ruleId);
    if (known.stream().anyMatch(kv -> kv.value.getActionId().equals(action.getActionId()))) {
      return;
    }
    failed.put(String.format("%s|%019d|%s", ruleId, Math.max(0, ts), action.getActionId()),
        action);
    int excess = known.size() + 1 - settings.failedActionsKept();
    for (int i = 0; i < excess; i++) {
      failed.delete(known.get(i).key);
    }
    ProtocolRule rule = rules.get(ruleId);
    if (rule != null && rule.getStatus() == RuleStatus.CANDIDATE) {
      maybeStartTrial(ruleId, context.currentSystemTimeMs());
    }
  }

  private void maybeStartTrial(String ruleId, long now) {
    ProtocolRule rule = rules.get(ruleId);
    if (rule == null || rule.getStatus() != RuleStatus.CANDIDATE || trials.get(ruleId) != null) {
      return;
    }
    List<KeyValue<String, ActionItem>> known = failedActions(ruleId);
    if (known.isEmpty()) {
      return;
    }
    List<ActionItem> sample = known.subList(Math.max(0, known.size()
        - settings.trialSampleSize()), known.size()).stream().map(kv -> kv.value).toList();
    String trialId = RuleIds.trialId(ruleId, rule.getVersion());
    List<String> sampleIds = new ArrayList<>();
    for (TrialArm arm : List.of(TrialArm.CONTROL, TrialArm.TREATMENT)) {
      int n = 0;
      for (ActionItem source : sample) {
        n++;
        TrialSpec spec = TrialSpec.newBuilder().setTrialId(trialId).setRuleId(ruleId)
            .setRuleVersion(rule.getVersion()).setArm(arm).setRuleAction(rule.getAction())
            .setSourceActionId(source.getActionId()).build();
        // A trial compares the rule with its absence itself: an upstream request to run the
        // source action without rules must not switch the TREATMENT arm's rule off too.
        Map<String, String> attributes = new LinkedHashMap<>(source.getAttributes());
        attributes.remove(PlanPolicy.RULES_ATTRIBUTE);
        ActionItem trialAction = ActionItem.newBuilder(source)
            .setActionId(RuleIds.trialActionId(trialId, arm.name(), n))
            .setAppliedRuleIds(List.of())
            .setTrial(spec)
            .setAttributes(attributes)
            .setCreatedAt(Instant.ofEpochMilli(now))
            .build();
        context.forward(new Record<>(source.getTaskId(), trialAction, now));
        if (arm == TrialArm.CONTROL) {
          sampleIds.add(source.getActionId());
        }
      }
    }
    RuleTrial started = RuleTrial.newBuilder().setTrialId(trialId).setRuleId(ruleId)
        .setRuleVersion(rule.getVersion()).setPhase(TrialPhase.STARTED)
        .setSampleActionIds(sampleIds).setSummary(null)
        .setStartedAt(Instant.ofEpochMilli(now)).setUpdatedAt(Instant.ofEpochMilli(now)).build();
    trials.put(ruleId, started);
    context.forward(new Record<>(trialId, started, now));
    LOG.info("trial {} started: {} failed action(s) re-run without and with the rule",
        trialId, sampleIds.size());
  }

  private void onTrialOutcome(String ruleId, ValidationOutcome outcome) {
    RuleTrial trial = trials.get(ruleId);
    if (trial == null || outcome.getTrial() == null
        || !trial.getTrialId().equals(outcome.getTrial().getTrialId())) {
      LOG.debug("outcome {} belongs to no running trial of {}", outcome.getActionId(), ruleId);
      return;
    }
    outcomes.put(outcome.getActionId(), outcome);
    if (trialOutcomes(trial).size() >= 2 * trial.getSampleActionIds().size()) {
      decide(ruleId, trial, context.currentSystemTimeMs(), false);
    }
  }

  private void decide(String ruleId, RuleTrial trial, long now, boolean timedOut) {
    ProtocolRule rule = rules.get(ruleId);
    Map<String, ValidationOutcome> arrived = trialOutcomes(trial);
    TrialPolicy.Verdict verdict = TrialPolicy.judge(trial.getTrialId(), rule.getAction(),
        arrived.values(), settings.durationRatio(), settings.durationSlackMs(), now, timedOut);
    ProtocolRule decided = ProtocolRule.newBuilder(rule)
        .setVersion(rule.getVersion() + 1)
        .setStatus(verdict.adopt() ? RuleStatus.ACTIVE : RuleStatus.REJECTED)
        .setStatusReason(verdict.summary().getVerdict())
        .setTrial(verdict.summary())
        .setUpdatedAt(Instant.ofEpochMilli(now))
        .build();
    LOG.info("rule {} {} (v{}): {}", ruleId, decided.getStatus(), decided.getVersion(),
        verdict.summary().getVerdict());
    publish(decided, now);
    RuleTrial completed = RuleTrial.newBuilder(trial).setPhase(TrialPhase.COMPLETED)
        .setSummary(verdict.summary()).setUpdatedAt(Instant.ofEpochMilli(now)).build();
    context.forward(new Record<>(trial.getTrialId(), completed, now));
    trials.delete(ruleId);
    arrived.keySet().forEach(outcomes::delete);
    if (verdict.adopt()) {
      lastSeen.put(ruleId, now);
    } else {
      // the failures just tried are this rejection's evidence: never propose on them again
      failedActions(ruleId).forEach(kv -> failed.delete(kv.key));
    }
  }

  private void tick(long now) {
    List<KeyValue<String, RuleTrial>> expired = new ArrayList<>();
    try (KeyValueIterator<String, RuleTrial> it = trials.all()) {
      while (it.hasNext()) {
        KeyValue<String, RuleTrial> kv = it.next();
        if (kv.value.getStartedAt().toEpochMilli() + settings.trialTimeout().toMillis() <= now) {
          expired.add(kv);
        }
      }
    }
    expired.forEach(kv -> decide(kv.key, kv.value, now, true));

    List<ProtocolRule> quiet = new ArrayList<>();
    List<ProtocolRule> untried = new ArrayList<>();
    try (KeyValueIterator<String, ProtocolRule> it = rules.all()) {
      while (it.hasNext()) {
        ProtocolRule r = it.next().value;
        Long seen = lastSeen.get(r.getRuleId());
        if (r.getStatus() == RuleStatus.ACTIVE && seen != null
            && seen + settings.retireAfter().toMillis() <= now) {
          quiet.add(r);
        } else if (r.getStatus() == RuleStatus.CANDIDATE && trials.get(r.getRuleId()) == null
            && r.getUpdatedAt().toEpochMilli() + settings.trialTimeout().toMillis() <= now) {
          untried.add(r);
        }
      }
    }
    for (ProtocolRule r : untried) {
      // a rule is never trusted untried: without failed actions to re-run, it is rejected
      ProtocolRule rejected = ProtocolRule.newBuilder(r).setVersion(r.getVersion() + 1)
          .setStatus(RuleStatus.REJECTED)
          .setStatusReason("no failed action of the pattern was known to try the rule on within "
              + settings.trialTimeout())
          .setUpdatedAt(Instant.ofEpochMilli(now)).build();
      LOG.info("rule {} rejected (v{}): {}", r.getRuleId(), rejected.getVersion(),
          rejected.getStatusReason());
      publish(rejected, now);
    }
    for (ProtocolRule r : quiet) {
      ProtocolRule retired = ProtocolRule.newBuilder(r).setVersion(r.getVersion() + 1)
          .setStatus(RuleStatus.RETIRED)
          .setStatusReason("pattern has not recurred for " + settings.retireAfter())
          .setUpdatedAt(Instant.ofEpochMilli(now)).build();
      LOG.info("rule {} retired (v{}): {}", r.getRuleId(), retired.getVersion(),
          retired.getStatusReason());
      publish(retired, now);
      // a tombstone after the RETIRED record: a reader of the compacted topic from the start
      // sees exactly the live rules
      context.forward(new Record<String, SpecificRecord>(r.getRuleId(), null, now));
      lastSeen.delete(r.getRuleId());
    }
  }

  private void publish(ProtocolRule rule, long now) {
    rules.put(rule.getRuleId(), rule);
    context.forward(new Record<>(rule.getRuleId(), rule, now));
  }

  private List<KeyValue<String, ActionItem>> failedActions(String ruleId) {
    List<KeyValue<String, ActionItem>> list = new ArrayList<>();
    try (KeyValueIterator<String, ActionItem> it = failed.prefixScan(ruleId + "|", PREFIX)) {
      it.forEachRemaining(list::add);
    }
    return list;
  }

  private Map<String, ValidationOutcome> trialOutcomes(RuleTrial trial) {
    Map<String, ValidationOutcome> map = new LinkedHashMap<>();
    try (KeyValueIterator<String, ValidationOutcome> it =
        outcomes.prefixScan(trial.getTrialId() + ":", PREFIX)) {
      it.forEachRemaining(kv -> map.put(kv.key, kv.value));
    }
    return map;
  }

  static boolean proposes(ErrorPattern p) {
    return p.getSuggestedAction() != RuleActionKind.UNKNOWN;
  }
}
