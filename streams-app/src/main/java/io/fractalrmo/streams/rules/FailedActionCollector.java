package io.fractalrmo.streams.rules;

import io.fractalrmo.contracts.ActionItem;
import io.fractalrmo.contracts.ErrorEvent;
import io.fractalrmo.contracts.RuleActionKind;
import io.fractalrmo.streams.StreamsSettings;
import io.fractalrmo.streams.patterns.FixCatalog;
import io.fractalrmo.streams.patterns.PatternKey;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * In the task-id key space (action items and error events are both keyed by task id, so
 * co-partitioned): remembers recent non-trial action items by action id, and for each non-trial
 * error event whose pattern suggests a rule, forwards the failed action keyed by that rule's id,
 * so the protocol updater can re-issue it in a trial.
 */
final class FailedActionCollector implements Processor<String, SpecificRecord, String, ActionItem> {

  private static final Logger LOG = LoggerFactory.getLogger(FailedActionCollector.class);

  private final long retention;
  private ProcessorContext<String, ActionItem> context;
  private WindowStore<String, ActionItem> actions;

  FailedActionCollector(StreamsSettings.Rules settings) {
    this.retention = settings.actionRetention().toMillis();
  }

  @Override
  public void init(ProcessorContext<String, ActionItem> context) {
    this.context = context;
    this.actions = context.getStateStore(ProtocolUpdaterTopology.RECENT_ACTIONS_STORE);
  }

  @Override
  public void process(Record<String, SpecificRecord> record) {
    if (record.value() instanceof ActionItem item) {
      if (item.getTrial() == null) {
        actions.put(item.getActionId(), item, record.timestamp());
      }
    } else if (record.value() instanceof ErrorEvent e) {
      if (e.getTrialId() != null || e.getActionId() == null) {
        return;
      }
      RuleActionKind kind = FixCatalog.suggestedAction(e.getCategory(), e.getErrorType(),
          e.getFixKey());
      if (kind == RuleActionKind.UNKNOWN) {
        return;
      }
      ActionItem failed = latest(e.getActionId(), record.timestamp());
      if (failed == null) {
        LOG.debug("failed action {} of error {} is not known (older than {} ms?)",
            e.getActionId(), e.getErrorId(), retention);
        return;
      }
      context.forward(new Record<>(RuleIds.ruleId(PatternKey.of(e), kind), failed,
          record.timestamp()));
    }
  }

  private ActionItem latest(String actionId, long ts) {
    ActionItem found = null;
    try (WindowStoreIterator<ActionItem> it = actions.fetch(actionId, ts - retention,
        ts + retention)) {
      while (it.hasNext()) {
        found = it.next().value;
      }
    }
    return found;
  }
}
