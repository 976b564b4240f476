package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ActionType;
import io.fractalrmo.contracts.ErrorPattern;
import io.fractalrmo.contracts.ExecutionInput;
import io.fractalrmo.contracts.ProtocolRule;
import io.fractalrmo.contracts.RuleAction;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.contracts.RuleCondition;
import io.fractalrmo.contracts.RuleEvidence;
import io.fractalrmo.contracts.RuleSample;
import io.fractalrmo.contracts.RuleStatus;
import io.fractalrmo.contracts.RuleTrial;
import io.fractalrmo.contracts.TrialArm;
import io.fractalrmo.contracts.TrialPhase;
import io.fractalrmo.contracts.TrialSpec;
import io.fractalrmo.contracts.TrialSummary;
import io.fractalrmo.contracts.ValidationOutcome;
import io.fractalrmo.runtime.trace.Tracing;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.trace.StreamsHops;
import io.fractalrmo.streams.merge.PlanPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.TreeSet;
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
 *   <li>its trial starts once {@code sampleSize} failed actions of the pattern and
 *       {@code guardSize} recently succeeded actions in its scope are known, or
 *       {@code sampleWait} after the proposal with what is known: each failed action is re-issued
 *       twice (CONTROL without the rule, TREATMENT with it), each success once (GUARD, with it),
 *       and a RuleTrial STARTED is written; a candidate with fewer than the minimums is REJECTED
 *       (sample too small: never trusted untried), one whose failures the plan blocked, or a
 *       PROMPT_GUIDELINE whose failures generated no code, at once (it cannot show its value);
 *       actions whose code a model generated re-run that very code in every arm, except for
 *       PROMPT_GUIDELINE, whose arms must generate;</li>
 *   <li>when every trial outcome is in, or the trial timeout passes (wall clock), the
 *       {@link TrialPolicy} decides: ACTIVE (next version, trial figures) or REJECTED; the
 *       RuleTrial COMPLETED carries the figures;</li>
 *   <li>a REJECTED rule is proposed again only on new evidence: failures of the pattern after
 *       the rejection (the tried ones are forgotten) and a pattern window reaching past it;</li>
 *   <li>an ACTIVE rule is watched on live traffic ({@link LivePolicy}): its counters and live
 *       evidence are published on its record every {@code reportInterval} when they changed
 *       (same version), and it is RETIRED, with that evidence, when its live benefit turned
 *       negative or disappeared or it hurt more than it helped;</li>
 *   <li>an ACTIVE rule whose pattern has not recurred for {@code retireAfter} (wall clock) is
 *       RETIRED too. A RETIRED record is followed by a tombstone.</li>
 * </ol>
 */
final class ProtocolUpdater implements Processor<String, SpecificRecord, String, SpecificRecord> {

  private static final Logger LOG = LoggerFactory.getLogger(ProtocolUpdater.class);
  private static final StringSerializer PREFIX = new StringSerializer();
  /** The order of a RocksDB store's String keys: their UTF-8 bytes, unsigned. */
  static final Comparator<String> UTF8_ORDER = (a, b) -> Arrays.compareUnsigned(
      a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  static final String PLAN_BLOCKS = "PLAN_BLOCKS";

  private final StreamsSettings.Rules settings;
  private final StreamsSettings.Trial trial;
  private ProcessorContext<String, SpecificRecord> context;
  private KeyValueStore<String, ProtocolRule> rules;
  private KeyValueStore<String, RuleTrial> trials;
  private KeyValueStore<String, ValidationOutcome> outcomes;
  private KeyValueStore<String, RuleSample> failed;
  private KeyValueStore<String, Long> lastSeen;
  private KeyValueStore<String, RuleSample> guardPool;
  /**
   * The guard pool's keys by action type, oldest first in the store's (UTF-8 byte) order: which
   * sample to evict is decided here, not by a prefix scan that read back and deserialized every
   * sample of the type for each live success (every partition sees each one). Rebuilt from the
   * store in {@link #init}, which also runs when a task is re-initialised after an abort.
   */
  private final Map<String, NavigableSet<String>> guardKeys = new HashMap<>();
  private KeyValueStore<String, LiveWatch> live;
  private long lastReport;

  private final Tracing tracing;
  /** Headers of the record being processed (null in a punctuation): the cause of each output. */
  private org.apache.kafka.common.header.Headers cause;

  ProtocolUpdater(StreamsSettings.Rules settings) {
    this(settings, Tracing.process());
  }

  ProtocolUpdater(StreamsSettings.Rules settings, Tracing tracing) {
    this.settings = settings;
    this.trial = settings.trial();
    this.tracing = tracing;
  }

  /**
   * {@code record} as a hop of the trace of the record that caused it: a rule proposed from a
   * pattern continues the pattern's trace, trial actions the rule's, a rule decided by a trial
   * outcome that outcome's; a punctuation's output (retirement, live counters) starts a trace.
   */
  private <V> Record<String, V> traced(String name, Record<String, V> record) {
    return StreamsHops.childOf(tracing, context, name, cause, record);
  }

  @Override
  public void init(ProcessorContext<String, SpecificRecord> context) {
    this.context = context;
    rules = context.getStateStore(ProtocolUpdaterTopology.RULES_STORE);
    trials = context.getStateStore(ProtocolUpdaterTopology.TRIALS_STORE);
    outcomes = context.getStateStore(ProtocolUpdaterTopology.OUTCOMES_STORE);
    failed = context.getStateStore(ProtocolUpdaterTopology.FAILED_ACTIONS_STORE);
    lastSeen = context.getStateStore(ProtocolUpdaterTopology.LAST_SEEN_STORE);
    guardPool = context.getStateStore(ProtocolUpdaterTopology.GUARD_POOL_STORE);
    guardKeys.clear();
    try (KeyValueIterator<String, RuleSample> it = guardPool.all()) {
      it.forEachRemaining(kv -> guardKeysOf(kv.key.substring(0, Math.max(0, kv.key.indexOf('|'))))
          .add(kv.key));
    }
    live = context.getStateStore(ProtocolUpdaterTopology.LIVE_STORE);
    context.schedule(settings.punctuateInterval(), PunctuationType.WALL_CLOCK_TIME, this::tick);
  }

  @Override
  public void process(Record<String, SpecificRecord> record) {
    String key = record.key();
    if (key == null || record.value() == null) {
      return;
    }
    cause = record.headers();
    try {
      dispatch(key, record);
    } finally {
      cause = null;
    }
  }

  private void dispatch(String key, Record<String, SpecificRecord> record) {
    if (record.value() instanceof RuleSample sample && key.startsWith(
        OutcomeCollector.LIVE_KEY_PREFIX)) {
      onLive(sample, record.timestamp());
    } else if (record.value() instanceof ErrorPattern pattern) {
      onPattern(key, pattern);
    } else if (record.value() instanceof RuleSample sample) {
      onFailedAction(key, sample, record.timestamp());
    } else if (record.value() instanceof ValidationOutcome outcome) {
      onTrialOutcome(key, outcome);
    }
  }

  // ------------------------------------------------------------------ proposal

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
      boolean newEvidence = !failedSamples(ruleId).isEmpty()
          && pattern.getWindowEnd().isAfter(rule.getUpdatedAt());
      if (newEvidence) {
        propose(ruleId, pattern, rule.getVersion() + 1, now);
      } else {
        LOG.debug("rule {} was rejected; pattern {} brings no new evidence", ruleId,
            pattern.getPatternKey());
      }
    } else if (rule.getStatus() == RuleStatus.CANDIDATE) {
      maybeStartTrial(ruleId, now, false);
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
        .setStatusReason(String.format(Locale.ROOT,
            "pattern seen %d times in [%s, %s) with confidence %.2f", p.getFrequency(),
            p.getWindowStart(), p.getWindowEnd(), p.getConfidence()))
        .setEvidence(RuleEvidence.newBuilder().setPatternKey(p.getPatternKey())
            .setFrequency(p.getFrequency()).setWindowStart(p.getWindowStart())
            .setWindowEnd(p.getWindowEnd()).setExamples(p.getExamples()).build())
        .setTrial(null)
        .setTimesApplied(0).setTimesHelped(0).setTimesHurt(0).setLive(null)
        .setFirstFailureAt(firstFailure(ruleId, null))
        .setCreatedAt(previous == null ? Instant.ofEpochMilli(now) : previous.getCreatedAt())
        .setUpdatedAt(Instant.ofEpochMilli(now))
        .build();
    LOG.info("rule {} v{} proposed: {}", ruleId, version, candidate.getDescription());
    publish(candidate, now);
    maybeStartTrial(ruleId, now, false);
  }

  private void onFailedAction(String ruleId, RuleSample sample, long ts) {
    if (sample.getAction() == null) {
      return;
    }
    List<KeyValue<String, RuleSample>> known = failedSamples(ruleId);
    if (known.stream().anyMatch(kv -> kv.value.getActionId().equals(sample.getActionId()))) {
      return;
    }
    failed.put(String.format("%s|%019d|%s", ruleId, Math.max(0, ts), sample.getActionId()),
        sample);
    int excess = known.size() + 1 - settings.failedActionsKept();
    for (int i = 0; i < excess; i++) {
      failed.delete(known.get(i).key);
    }
    ProtocolRule rule = rules.get(ruleId);
    if (rule != null && rule.getStatus() == RuleStatus.CANDIDATE) {
      maybeStartTrial(ruleId, context.currentSystemTimeMs(), false);
    }
  }

  // ------------------------------------------------------------------ trial

  /**
   * Starts the trial of a CANDIDATE when enough is known, or — {@code due}: its sample wait is
   * over — with what is known, or rejects it when even that is too little.
   */
  private void maybeStartTrial(String ruleId, long now, boolean due) {
    ProtocolRule rule = rules.get(ruleId);
    if (rule == null || rule.getStatus() != RuleStatus.CANDIDATE || trials.get(ruleId) != null) {
      return;
    }
    RuleValue value = RuleValue.of(rule.getAction().getKind());
    List<RuleSample> known = failedSamples(ruleId).stream().map(kv -> kv.value).toList();
    List<RuleSample> blocked = known.stream()
        .filter(s -> s.getAction().getType() == ActionType.BLOCK).toList();
    List<RuleSample> usable = known.stream()
        .filter(s -> RuleScope.inScope(rule.getCondition(), s.getAction().getType()))
        .filter(s -> value != RuleValue.BETTER_GENERATED_CODE
            || s.getAction().getType() == ActionType.GENERATE_CODE)
        .toList();
    List<RuleSample> guards = guardCandidates(rule, value);
    String trialId = RuleIds.trialId(ruleId, rule.getVersion());
    if (usable.isEmpty() && (due || known.size() >= trial.minSampleSize())) {
      if (!known.isEmpty() && blocked.size() == known.size()) {
        reject(rule, TrialPolicy.untried(trialId, rule.getAction(), PLAN_BLOCKS, "the plan "
            + "blocks every failed action of its pattern: no rule changes an action that is "
            + "never run, so it has nothing to show", known.size(), guards.size(), trial, now),
            now);
        return;
      }
      if (value == RuleValue.BETTER_GENERATED_CODE && !known.isEmpty()) {
        reject(rule, TrialPolicy.untried(trialId, rule.getAction(),
            TrialPolicy.NO_GENERATED_CODE, "cannot show its value: a PROMPT_GUIDELINE improves "
            + "generated code only, and none of the failed actions of its pattern generated "
            + "code (they came with their code, or no model backend is configured)",
            known.size(), guards.size(), trial, now), now);
        return;
      }
    }
    boolean enough = usable.size() >= trial.sampleSize() && guards.size() >= trial.guardSize();
    if (!enough && !due) {
      return;
    }
    if (usable.size() < trial.minSampleSize() || guards.size() < trial.minGuardSize()) {
      reject(rule, TrialPolicy.untried(trialId, rule.getAction(), TrialPolicy.SAMPLE_TOO_SMALL,
          String.format(Locale.ROOT, "sample too small to try it: %d failed action(s) of its "
              + "pattern and %d recently succeeded action(s) in its scope known within %s; at "
              + "least %d and %d needed", usable.size(), guards.size(), trial.sampleWait(),
              trial.minSampleSize(), trial.minGuardSize()), usable.size(), guards.size(),
          trial, now), now);
      return;
    }
    List<RuleSample> sample = usable.subList(Math.max(0, usable.size() - trial.sampleSize()),
        usable.size());
    List<RuleSample> guard = guards.subList(0, Math.min(trial.guardSize(), guards.size()));
    boolean generate = value == RuleValue.BETTER_GENERATED_CODE;
    List<String> sampleIds = new ArrayList<>();
    for (TrialArm arm : List.of(TrialArm.CONTROL, TrialArm.TREATMENT)) {
      int n = 0;
      for (RuleSample source : sample) {
        forwardTrialItem(rule, trialId, arm, ++n, source, generate, now);
        if (arm == TrialArm.CONTROL) {
          sampleIds.add(source.getActionId());
        }
      }
    }
    List<String> guardIds = new ArrayList<>();
    int n = 0;
    for (RuleSample source : guard) {
      forwardTrialItem(rule, trialId, TrialArm.GUARD, ++n, source, generate, now);
      guardIds.add(source.getActionId());
    }
    double guardLive = guard.stream().mapToLong(RuleSample::getDurationMs).average().orElse(0);
    RuleTrial started = RuleTrial.newBuilder().setTrialId(trialId).setRuleId(ruleId)
        .setRuleVersion(rule.getVersion()).setPhase(TrialPhase.STARTED)
        .setSampleActionIds(sampleIds).setGuardActionIds(guardIds)
        .setGuardLiveMeanDurationMs(guardLive).setSummary(null)
        .setStartedAt(Instant.ofEpochMilli(now)).setUpdatedAt(Instant.ofEpochMilli(now)).build();
    trials.put(ruleId, started);
    context.forward(traced("trial-started", new Record<>(trialId, started, now)));
    LOG.info("trial {} started: {} failed action(s) re-run without and with the rule, {} "
        + "succeeded one(s) with it", trialId, sampleIds.size(), guardIds.size());
  }

  private void forwardTrialItem(ProtocolRule rule, String trialId, TrialArm arm, int n,
      RuleSample source, boolean generate, long now) {
    ActionItem action = source.getAction();
    TrialSpec spec = TrialSpec.newBuilder().setTrialId(trialId).setRuleId(rule.getRuleId())
        .setRuleVersion(rule.getVersion()).setArm(arm).setRuleAction(rule.getAction())
        .setSourceActionId(source.getActionId()).setRuleSet(null).build();
    ActionItem.Builder item = ActionItem.newBuilder(action)
        .setActionId(RuleIds.trialActionId(trialId, arm.name(), n))
        .setAppliedRuleIds(List.of())
        .setTrial(spec)
        .setAttributes(trialAttributes(action.getAttributes()))
        .setCreatedAt(Instant.ofEpochMilli(now));
    if (!generate && action.getType() == ActionType.GENERATE_CODE
        && source.getGeneratedCode() != null) {
      // generate once, run twice: every arm runs the code the live run generated, so the arms
      // differ by the rule only
      item.setInput(ExecutionInput.newBuilder(action.getInput())
          .setCode(source.getGeneratedCode()).build());
    }
    context.forward(traced("trial-action", new Record<>(action.getTaskId(), item.build(), now)));
  }

  /**
   * A trial compares the rule with its absence itself: an upstream request (or the holdout) to
   * run the source action without rules must not switch the rule off in the trial's arms.
   */
  static Map<String, String> trialAttributes(Map<String, String> source) {
    Map<String, String> attributes = new LinkedHashMap<>(source);
    attributes.remove(PlanPolicy.RULES_ATTRIBUTE);
    attributes.remove(Holdout.HOLDOUT_ATTRIBUTE);
    return attributes;
  }

  private NavigableSet<String> guardKeysOf(String type) {
    return guardKeys.computeIfAbsent(type, t -> new TreeSet<>(UTF8_ORDER));
  }

  /** Succeeded actions the rule applies to: the relevant ones first, then the newest. */
  private List<RuleSample> guardCandidates(ProtocolRule rule, RuleValue value) {
    List<RuleSample> all = new ArrayList<>();
    try (KeyValueIterator<String, RuleSample> it = guardPool.all()) {
      it.forEachRemaining(kv -> all.add(kv.value));
    }
    return all.stream()
        .filter(s -> s.getAction() != null
            && RuleScope.inScope(rule.getCondition(), s.getAction().getType()))
        .filter(s -> value != RuleValue.BETTER_GENERATED_CODE
            || s.getAction().getType() == ActionType.GENERATE_CODE)
        .sorted(Comparator.comparing((RuleSample s) -> !RuleScope.relevant(rule.getCondition(),
                rule.getAction(), s.getAction().getFindings()))
            .thenComparing(RuleSample::getOccurredAt, Comparator.reverseOrder()))
        .toList();
  }

  private void onTrialOutcome(String ruleId, ValidationOutcome outcome) {
    RuleTrial running = trials.get(ruleId);
    if (running == null || outcome.getTrial() == null
        || !running.getTrialId().equals(outcome.getTrial().getTrialId())) {
      LOG.debug("outcome {} belongs to no running trial of {}", outcome.getActionId(), ruleId);
      return;
    }
    outcomes.put(outcome.getActionId(), outcome);
    int expected = 2 * running.getSampleActionIds().size() + running.getGuardActionIds().size();
    if (trialOutcomes(running).size() >= expected) {
      decide(ruleId, running, context.currentSystemTimeMs(), false);
    }
  }

  private void decide(String ruleId, RuleTrial running, long now, boolean timedOut) {
    ProtocolRule rule = rules.get(ruleId);
    Map<String, ValidationOutcome> arrived = trialOutcomes(running);
    TrialPolicy.Verdict verdict = TrialPolicy.judge(running.getTrialId(), rule.getAction(),
        arrived.values(), running.getGuardLiveMeanDurationMs(), trial, now, timedOut);
    RuleTrial completed = RuleTrial.newBuilder(running).setPhase(TrialPhase.COMPLETED)
        .setSummary(verdict.summary()).setUpdatedAt(Instant.ofEpochMilli(now)).build();
    trials.delete(ruleId);
    arrived.keySet().forEach(outcomes::delete);
    if (verdict.adopt()) {
      ProtocolRule active = ProtocolRule.newBuilder(rule)
          .setVersion(rule.getVersion() + 1)
          .setStatus(RuleStatus.ACTIVE)
          .setStatusReason(verdict.summary().getVerdict())
          .setTrial(verdict.summary())
          .setFirstFailureAt(firstFailure(ruleId, rule.getFirstFailureAt()))
          .setUpdatedAt(Instant.ofEpochMilli(now))
          .build();
      LOG.info("rule {} ACTIVE (v{}): {}", ruleId, active.getVersion(),
          verdict.summary().getVerdict());
      publish(active, now);
      lastSeen.put(ruleId, now);
      live.put(ruleId, LiveWatch.start(ruleId, now));
    } else {
      reject(rule, verdict.summary(), now);
    }
    context.forward(traced("trial-completed", new Record<>(running.getTrialId(), completed, now)));
  }

  private void reject(ProtocolRule rule, TrialSummary summary, long now) {
    ProtocolRule rejected = ProtocolRule.newBuilder(rule)
        .setVersion(rule.getVersion() + 1)
        .setStatus(RuleStatus.REJECTED)
        .setStatusReason(summary.getVerdict())
        .setTrial(summary)
        .setFirstFailureAt(firstFailure(rule.getRuleId(), rule.getFirstFailureAt()))
        .setUpdatedAt(Instant.ofEpochMilli(now))
        .build();
    LOG.info("rule {} REJECTED (v{}): {}", rule.getRuleId(), rejected.getVersion(),
        summary.getVerdict());
    publish(rejected, now);
    // the failures it was judged on are this rejection's evidence: never propose on them again
    failedSamples(rule.getRuleId()).forEach(kv -> failed.delete(kv.key));
  }

  // ------------------------------------------------------------------ live

  private void onLive(RuleSample sample, long ts) {
    if (sample.getSuccess() && sample.getAction() != null
        && sample.getAction().getType() != ActionType.BLOCK) {
      String type = sample.getAction().getType().name();
      String key = String.format("%s|%019d|%s", type, Math.max(0, ts), sample.getActionId());
      guardPool.put(key, sample);
      NavigableSet<String> keys = guardKeysOf(type);
      keys.add(key);
      while (keys.size() > trial.guardPoolSize()) {
        guardPool.delete(keys.pollFirst());
      }
    }
    long now = context.currentSystemTimeMs();
    List<KeyValue<String, LiveWatch>> watches = new ArrayList<>();
    try (KeyValueIterator<String, LiveWatch> it = live.all()) {
      it.forEachRemaining(watches::add);
    }
    for (KeyValue<String, LiveWatch> kv : watches) {
      ProtocolRule rule = rules.get(kv.key);
      if (rule == null || rule.getStatus() != RuleStatus.ACTIVE) {
        live.delete(kv.key);
        continue;
      }
      LiveWatch next = LivePolicy.observe(kv.value, rule, sample, settings.live().window());
      if (next == kv.value) {
        continue;
      }
      Optional<String> retire = LivePolicy.judge(next, rule, settings.live());
      if (retire.isPresent()) {
        retire(rule, next, retire.get(), now);
      } else {
        live.put(kv.key, next);
      }
    }
  }

  private void retire(ProtocolRule r, LiveWatch watch, String reason, long now) {
    ProtocolRule.Builder b = ProtocolRule.newBuilder(r).setVersion(r.getVersion() + 1)
        .setStatus(RuleStatus.RETIRED).setStatusReason(reason)
        .setUpdatedAt(Instant.ofEpochMilli(now));
    if (watch != null) {
      b.setTimesApplied(watch.applied()).setTimesHelped(watch.helped())
          .setTimesHurt(watch.hurt()).setLive(LivePolicy.evidence(watch, reason, now));
    }
    ProtocolRule retired = b.build();
    LOG.info("rule {} RETIRED (v{}): {}", r.getRuleId(), retired.getVersion(), reason);
    publish(retired, now);
    // a tombstone after the RETIRED record: a reader of the compacted topic from the start
    // sees exactly the live rules
    context.forward(traced("rule-tombstone",
        new Record<String, SpecificRecord>(r.getRuleId(), null, now)));
    lastSeen.delete(r.getRuleId());
    live.delete(r.getRuleId());
  }

  // ------------------------------------------------------------------ clock

  private void tick(long now) {
    List<KeyValue<String, RuleTrial>> expired = new ArrayList<>();
    try (KeyValueIterator<String, RuleTrial> it = trials.all()) {
      while (it.hasNext()) {
        KeyValue<String, RuleTrial> kv = it.next();
        if (kv.value.getStartedAt().toEpochMilli() + trial.timeout().toMillis() <= now) {
          expired.add(kv);
        }
      }
    }
    expired.forEach(kv -> decide(kv.key, kv.value, now, true));

    List<ProtocolRule> quiet = new ArrayList<>();
    List<String> waiting = new ArrayList<>();
    try (KeyValueIterator<String, ProtocolRule> it = rules.all()) {
      while (it.hasNext()) {
        ProtocolRule r = it.next().value;
        Long seen = lastSeen.get(r.getRuleId());
        if (r.getStatus() == RuleStatus.ACTIVE && seen != null
            && seen + settings.retireAfter().toMillis() <= now) {
          quiet.add(r);
        } else if (r.getStatus() == RuleStatus.CANDIDATE && trials.get(r.getRuleId()) == null
            && r.getUpdatedAt().toEpochMilli() + trial.sampleWait().toMillis() <= now) {
          waiting.add(r.getRuleId());
        }
      }
    }
    waiting.forEach(id -> maybeStartTrial(id, now, true));
    for (ProtocolRule r : quiet) {
      retire(r, live.get(r.getRuleId()), "pattern has not recurred for " + settings.retireAfter(),
          now);
    }
    if (now - lastReport >= settings.live().reportInterval().toMillis()) {
      lastReport = now;
      report(now);
    }
  }

  /** Publishes the changed counters and live evidence of ACTIVE rules (same version). */
  private void report(long now) {
    List<KeyValue<String, LiveWatch>> dirty = new ArrayList<>();
    try (KeyValueIterator<String, LiveWatch> it = live.all()) {
      it.forEachRemaining(kv -> {
        if (kv.value.dirty()) {
          dirty.add(kv);
        }
      });
    }
    for (KeyValue<String, LiveWatch> kv : dirty) {
      ProtocolRule r = rules.get(kv.key);
      if (r == null || r.getStatus() != RuleStatus.ACTIVE) {
        continue;
      }
      LiveWatch w = kv.value;
      publish(ProtocolRule.newBuilder(r).setTimesApplied(w.applied()).setTimesHelped(w.helped())
          .setTimesHurt(w.hurt()).setLive(LivePolicy.evidence(w, null, now))
          .setUpdatedAt(Instant.ofEpochMilli(now)).build(), now);
      live.put(kv.key, w.published());
    }
  }

  // ------------------------------------------------------------------ stores

  private void publish(ProtocolRule rule, long now) {
    rules.put(rule.getRuleId(), rule);
    context.forward(traced("rule-" + rule.getStatus(), new Record<>(rule.getRuleId(), rule, now)));
    context.commit(); // every agent waits for a rule change: visible after this poll's records
  }

  private Instant firstFailure(String ruleId, Instant known) {
    Instant first = known;
    for (KeyValue<String, RuleSample> kv : failedSamples(ruleId)) {
      Instant at = kv.value.getOccurredAt();
      if (first == null || at.isBefore(first)) {
        first = at;
      }
    }
    return first;
  }

  private List<KeyValue<String, RuleSample>> failedSamples(String ruleId) {
    List<KeyValue<String, RuleSample>> list = new ArrayList<>();
    try (KeyValueIterator<String, RuleSample> it = failed.prefixScan(ruleId + "|", PREFIX)) {
      it.forEachRemaining(list::add);
    }
    return list;
  }

  private Map<String, ValidationOutcome> trialOutcomes(RuleTrial t) {
    Map<String, ValidationOutcome> map = new LinkedHashMap<>();
    try (KeyValueIterator<String, ValidationOutcome> it =
        outcomes.prefixScan(t.getTrialId() + ":", PREFIX)) {
      it.forEachRemaining(kv -> map.put(kv.key, kv.value));
    }
    return map;
  }

  static boolean proposes(ErrorPattern p) {
    return p.getSuggestedAction() != RuleActionKind.UNKNOWN;
  }
}
