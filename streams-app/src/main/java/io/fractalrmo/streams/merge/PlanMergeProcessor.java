package io.fractalrmo.streams.merge;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.Aspect;
import io.fractalrmo.contracts.AspectAnalysis;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.runtime.trace.Tracing;
import io.fractalrmo.streams.CommitPacer;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.trace.StreamsHops;
import io.opentelemetry.api.trace.SpanContext;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
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
 * Collects a task and its analyses (all keyed by task id, so co-partitioned) and emits its plan
 * exactly once: as soon as the task and all five analyses are there, or when the task's
 * deadline passes by stream time or wall-clock time, from what arrived. A task that breaks its
 * input contract is planned (rejected) the moment it arrives and never stored. Analyses or task
 * records arriving after the plan are counted and ignored.
 *
 * <p>The deadline is for an analyzer that is gone, not for one that is behind: past its
 * deadline a task still waits for a missing aspect whose analyses of other tasks keep arriving
 * (one within the last analysis timeout, wall clock, on any partition of this instance: {@link
 * AnalyzerLiveness}) unless that aspect has already analysed tasks of this partition that came an
 * analysis timeout or more after this one (event time: it skipped this task), and at most
 * {@value #BEHIND_CAP_FACTOR} analysis timeouts in all. (A burst of 164 tasks on a loaded 2-core
 * machine took the analyzers longer than 15 s, and 163 were planned without their analyses
 * although every analyzer was working through them.) What was heard from each aspect is kept in
 * memory only: after a restart an aspect counts as gone until its next analysis arrives, as
 * before.
 */
final class PlanMergeProcessor implements Processor<String, SpecificRecord, String, ActionItem> {

  private static final Logger LOG = LoggerFactory.getLogger(PlanMergeProcessor.class);
  private static final StringSerializer PREFIX = new StringSerializer();
  /** A task waits for aspects that are behind at most this many analysis timeouts. */
  static final int BEHIND_CAP_FACTOR = 8;
  private static final long PARTIAL_PLAN_LOG_INTERVAL_MS = 10_000;

  private static final String TASK_TRACE = "|TASK";

  private final StreamsSettings.Merge settings;
  private final CommitPacer pacer;
  private final Tracing tracing;
  private KeyValueStore<String, String> traces;
  private ProcessorContext<String, ActionItem> context;
  private KeyValueStore<String, Task> tasks;
  private KeyValueStore<String, AspectAnalysis> analyses;
  private KeyValueStore<String, PendingPlan> pending;
  private KeyValueStore<String, Long> planned;
  private long lateRecords;
  private final AnalyzerLiveness liveness;
  /** Per aspect, the latest first-record time (event time) of a task it analysed here. */
  private final Map<Aspect, Long> reached = new EnumMap<>(Aspect.class);
  /**
   * No pending task is due before both of these (stream time, wall clock), as far as this
   * processor knows; MIN_VALUE: unknown (after a restart, or while tasks wait past their deadline).
   */
  private long nextStreamDeadline = Long.MIN_VALUE;
  private long nextWallDeadline = Long.MIN_VALUE;
  private long partialPlans;
  private long lastPartialLog = Long.MIN_VALUE;
  /**
   * Per pending task of this processor's partition, which aspects' analyses the store holds: read
   * from the store the first time a task is seen here (after a restart, a rebalance or a revived
   * task, init() empties it), kept up to date as analyses are stored and dropped when the task is
   * forgotten. Only the record that completes the set, or one past the deadline, reads the
   * analyses back: before, every record of a task scanned and deserialized all of its analyses
   * so far (fifteen analyses read back per task; the prefix scans were a third of the plan
   * merge's CPU with a backlog, async-profiler).
   */
  private final Map<String, EnumSet<Aspect>> storedAspects = new HashMap<>();

  PlanMergeProcessor(StreamsSettings.Merge settings, CommitPacer pacer,
      AnalyzerLiveness liveness, Tracing tracing) {
    this.settings = settings;
    this.pacer = pacer;
    this.liveness = liveness;
    this.tracing = tracing;
  }

  @Override
  public void init(ProcessorContext<String, ActionItem> context) {
    this.context = context;
    this.tasks = context.getStateStore(PlanMergeTopology.TASKS_STORE);
    this.analyses = context.getStateStore(PlanMergeTopology.ANALYSES_STORE);
    this.pending = context.getStateStore(PlanMergeTopology.PENDING_STORE);
    this.planned = context.getStateStore(PlanMergeTopology.PLANNED_STORE);
    this.traces = context.getStateStore(PlanMergeTopology.TRACES_STORE);
    storedAspects.clear();
    context.schedule(settings.punctuateInterval(), PunctuationType.STREAM_TIME, t -> flushDue());
    context.schedule(settings.punctuateInterval(), PunctuationType.WALL_CLOCK_TIME,
        t -> flushDue());
    context.schedule(settings.plannedRetention().dividedBy(10).plusMillis(1),
        PunctuationType.WALL_CLOCK_TIME, this::forgetOldPlans);
  }

  @Override
  public void process(Record<String, SpecificRecord> record) {
    SpecificRecord value = record.value();
    String taskId = record.key() != null ? record.key() : taskIdOf(value);
    if (value == null || taskId == null) {
      return;
    }
    if (value instanceof AspectAnalysis a && a.getAspect() != Aspect.UNKNOWN) {
      liveness.heard(a.getAspect(), context.currentSystemTimeMs());
    }
    if (planned.get(taskId) != null) {
      lateRecords++;
      LOG.debug("task {} already planned: ignoring a late {} ({} late records so far)", taskId,
          value.getSchema().getName(), lateRecords);
      return;
    }
    if (tracing.enabled() && (value instanceof Task || value instanceof AspectAnalysis an
        && an.getAspect() != Aspect.UNKNOWN)) {
      // the plan is a fan-in: keep each input's trace context for its hop's parent and links
      String traceparent = Tracing.traceparent(StreamsHops.parentOf(context, record.headers()));
      if (traceparent != null) {
        traces.put(taskId + (value instanceof AspectAnalysis a ? "|" + a.getAspect().name()
            : TASK_TRACE), traceparent);
      }
    }
    PendingPlan before = pending.get(taskId);
    if (value instanceof Task task) {
      if (!settings.limits().violations(task).isEmpty()) {
        // rejected whatever the analyses say: plan it now, and never store (or changelog) a task
        // that may be as large as the broker allows
        emit(taskId, task, arrived(taskId), record.timestamp());
        return;
      }
      tasks.put(taskId, task);
    } else if (value instanceof AspectAnalysis analysis) {
      if (analysis.getAspect() == Aspect.UNKNOWN) {
        return;
      }
      analyses.put(taskId + "|" + analysis.getAspect().name(), analysis);
      storedAspects(taskId, before).add(analysis.getAspect());
    } else {
      return;
    }
    long now = context.currentSystemTimeMs();
    long timeout = settings.analysisTimeout().toMillis();
    PendingPlan p = before;
    if (p == null) {
      p = new PendingPlan(record.timestamp() + timeout, now + timeout, now, record.timestamp());
      nextStreamDeadline = Math.min(nextStreamDeadline, p.streamDeadline());
      nextWallDeadline = Math.min(nextWallDeadline, p.wallDeadline());
    } else {
      p = p.seen(record.timestamp());
    }
    pending.put(taskId, p);
    if (value instanceof AspectAnalysis analysis) {
      reached.merge(analysis.getAspect(), firstRecordTs(p), Math::max);
    }
    long streamTime = context.currentStreamTimeMs();
    boolean complete = storedAspects(taskId, before).containsAll(PlanPolicy.ASPECTS);
    if (!complete && !p.due(streamTime, now)) {
      return; // neither all there nor past the deadline: nothing to read back yet
    }
    Task task = value instanceof Task t ? t : tasks.get(taskId);
    if (task != null) {
      Map<Aspect, AspectAnalysis> arrived = arrived(taskId);
      if (arrived.keySet().containsAll(PlanPolicy.ASPECTS) || due(p, arrived, streamTime, now)) {
        emit(taskId, task, arrived, p.lastEventTs());
      }
    }
  }

  /**
   * Which aspects' analyses of {@code taskId} the store holds (see {@link #storedAspects});
   * {@code pending} is the task's pending plan before the current record: without one nothing of
   * the task is stored (analyses are stored only with a pending plan), so nothing is scanned.
   */
  private EnumSet<Aspect> storedAspects(String taskId, PendingPlan pending) {
    EnumSet<Aspect> known = storedAspects.get(taskId);
    if (known == null) {
      known = EnumSet.noneOf(Aspect.class);
      if (pending != null) {
        known.addAll(arrived(taskId).keySet());
      }
      storedAspects.put(taskId, known);
    }
    return known;
  }

  /**
   * Whether a task still missing analyses is planned now: its deadline passed and no missing
   * aspect is merely behind (see the class comment), or it waited its longest.
   */
  private boolean due(PendingPlan p, Map<Aspect, AspectAnalysis> arrived, long streamTime,
      long now) {
    if (!p.due(streamTime, now)) {
      return false;
    }
    long timeout = settings.analysisTimeout().toMillis();
    if (now >= p.firstSeenWall() + BEHIND_CAP_FACTOR * timeout) {
      return true;
    }
    long first = firstRecordTs(p);
    for (Aspect a : PlanPolicy.ASPECTS) {
      if (arrived.containsKey(a)) {
        continue;
      }
      boolean working = liveness.working(a, now, timeout);
      boolean skipped = reached.getOrDefault(a, Long.MIN_VALUE) >= first + timeout;
      if (working && !skipped) {
        return false; // behind: its analysis of this task is still to come
      }
    }
    return true;
  }

  /** The event time of a pending task's first record (its stream deadline less the timeout). */
  private long firstRecordTs(PendingPlan p) {
    return p.streamDeadline() - settings.analysisTimeout().toMillis();
  }

  private void flushDue() {
    long streamTime = context.currentStreamTimeMs();
    long now = context.currentSystemTimeMs();
    if (streamTime < nextStreamDeadline && now < nextWallDeadline) {
      return; // no pending task can be due yet: the store is not scanned twice a second for nothing
    }
    List<KeyValue<String, PendingPlan>> due = new ArrayList<>();
    long nextStream = Long.MAX_VALUE;
    long nextWall = Long.MAX_VALUE;
    try (KeyValueIterator<String, PendingPlan> it = pending.all()) {
      while (it.hasNext()) {
        KeyValue<String, PendingPlan> kv = it.next();
        if (kv.value.due(streamTime, now)) {
          due.add(kv);
        } else {
          nextStream = Math.min(nextStream, kv.value.streamDeadline());
          nextWall = Math.min(nextWall, kv.value.wallDeadline());
        }
      }
    }
    boolean stillDue = false;
    for (KeyValue<String, PendingPlan> kv : due) {
      Task task = tasks.get(kv.key);
      if (task != null) {
        Map<Aspect, AspectAnalysis> arrived = arrived(kv.key);
        if (due(kv.value, arrived, streamTime, now)) {
          emit(kv.key, task, arrived, kv.value.lastEventTs());
        } else {
          stillDue = true; // waiting for an aspect that is behind: looked at again next time
        }
      } else if (now >= kv.value.firstSeenWall() + settings.orphanTimeout().toMillis()) {
        LOG.warn("analyses of task {} arrived but the task did not within {}: dropping them",
            kv.key, settings.orphanTimeout());
        forget(kv.key);
      } else {
        stillDue = true;
      }
    }
    nextStreamDeadline = stillDue ? Long.MIN_VALUE : nextStream;
    nextWallDeadline = stillDue ? Long.MIN_VALUE : nextWall;
  }

  private void emit(String taskId, Task task, Map<Aspect, AspectAnalysis> arrived, long ts) {
    ActionItem plan = PlanPolicy.plan(task, arrived, ts, settings.limits());
    if (plan.getType() == io.fractalrmo.contracts.ActionType.BLOCK) {
      LOG.info("task {} rejected at plan time: {}", taskId, PlanPolicy.rejectionReason(plan));
    }
    if (!plan.getMissingAspects().isEmpty()) {
      // one line per interval, not per plan: a burst planned at its deadline logged each task
      partialPlans++;
      long wall = context.currentSystemTimeMs();
      if (lastPartialLog == Long.MIN_VALUE || wall - lastPartialLog >= PARTIAL_PLAN_LOG_INTERVAL_MS) {
        LOG.info("task {} planned without the analyses of {} ({} task(s) planned without all"
            + " analyses here since the last such line)", taskId, plan.getMissingAspects(),
            partialPlans);
        partialPlans = 0;
        lastPartialLog = wall;
      } else {
        LOG.debug("task {} planned without the analyses of {}", taskId, plan.getMissingAspects());
      }
    }
    context.forward(new Record<>(taskId, plan, ts, planHop(taskId, arrived)));
    forget(taskId);
    planned.put(taskId, context.currentSystemTimeMs());
    // a plan is visible once its transaction commits: ask for that now rather than at the commit
    // interval, paced so that a burst of plans shares its transactions
    pacer.outputReady(context);
  }

  /**
   * The plan's hop: child of the task's submission, linked to each analysis it merged (the
   * fan-in), begun when the first of its records arrived.
   */
  private org.apache.kafka.common.header.Headers planHop(String taskId,
      Map<Aspect, AspectAnalysis> arrived) {
    if (!tracing.enabled()) {
      return new org.apache.kafka.common.header.internals.RecordHeaders();
    }
    SpanContext parent = Tracing.contextOf(traces.get(taskId + TASK_TRACE));
    List<SpanContext> links = new ArrayList<>();
    for (Aspect a : arrived.keySet()) {
      SpanContext l = Tracing.contextOf(traces.get(taskId + "|" + a.name()));
      if (l.isValid()) {
        links.add(l);
      }
    }
    PendingPlan p = pending.get(taskId);
    return StreamsHops.hop(tracing, context, "plan", parent, links,
        p == null ? -1 : Math.min(p.firstSeenWall(), context.currentSystemTimeMs()));
  }

  private Map<Aspect, AspectAnalysis> arrived(String taskId) {
    Map<Aspect, AspectAnalysis> arrived = new EnumMap<>(Aspect.class);
    try (KeyValueIterator<String, AspectAnalysis> it = analyses.prefixScan(taskId + "|", PREFIX)) {
      while (it.hasNext()) {
        AspectAnalysis a = it.next().value;
        arrived.put(a.getAspect(), a);
      }
    }
    return arrived;
  }

  private void forget(String taskId) {
    storedAspects.remove(taskId);
    tasks.delete(taskId);
    pending.delete(taskId);
    for (Aspect a : PlanPolicy.ASPECTS) {
      analyses.delete(taskId + "|" + a.name());
    }
    if (tracing.enabled()) {
      traces.delete(taskId + TASK_TRACE);
      for (Aspect a : PlanPolicy.ASPECTS) {
        traces.delete(taskId + "|" + a.name());
      }
    }
  }

  private void forgetOldPlans(long now) {
    long horizon = now - settings.plannedRetention().toMillis();
    List<String> old = new ArrayList<>();
    try (KeyValueIterator<String, Long> it = planned.all()) {
      while (it.hasNext()) {
        KeyValue<String, Long> kv = it.next();
        if (kv.value < horizon) {
          old.add(kv.key);
        }
      }
    }
    old.forEach(planned::delete);
  }

  private static String taskIdOf(SpecificRecord value) {
    if (value instanceof Task t) {
      return t.getTaskId();
    }
    if (value instanceof AspectAnalysis a) {
      return a.getTaskId();
    }
    return null;
  }
}
