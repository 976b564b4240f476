-- Fractal-RMO durable record. Kafka carries the flow; these tables keep what happened, keyed by
-- the same ids as the records, so the sink can upsert and a replay changes nothing.
-- Enum-valued columns are text (the Avro symbol), so a new symbol never needs a migration.

-- Agents, from fractal.agent-status (compacted, keyed by agent id): the latest state of each instance.
CREATE TABLE agents (
    agent_id        text        PRIMARY KEY,
    agent_type      text        NOT NULL,
    state           text        NOT NULL,
    previous_state  text,
    task_id         text,
    progress        double precision,
    processed       bigint      NOT NULL DEFAULT 0,
    host            text,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX agents_type_state_idx ON agents (agent_type, state);

-- Tasks, from fractal.tasks.
CREATE TABLE tasks (
    task_id           text        PRIMARY KEY,
    description       text        NOT NULL DEFAULT '',
    priority          integer     NOT NULL,
    language          text        NOT NULL,
    code              text,
    entry_point       text,
    test_code         text,
    time_limit_ms     bigint      NOT NULL,
    memory_limit_mb   integer,
    validation_level  integer     NOT NULL,
    source            text        NOT NULL,
    submitted_at      timestamptz NOT NULL,
    attributes        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_submitted_at_idx ON tasks (submitted_at DESC);

-- Action items, from fractal.action-items (plans and rule-trial re-runs alike).
CREATE TABLE action_items (
    action_id          text        PRIMARY KEY,
    task_id            text        NOT NULL,
    sequence           integer     NOT NULL,
    type               text        NOT NULL,
    priority           integer     NOT NULL,
    attempt            integer     NOT NULL,
    validation_level   integer     NOT NULL,
    timeout_ms         bigint      NOT NULL,
    memory_mb          integer     NOT NULL,
    applied_rule_ids   text[]      NOT NULL DEFAULT '{}',
    missing_aspects    text[]      NOT NULL DEFAULT '{}',
    findings           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    trial_id           text,
    trial_rule_id      text,
    trial_arm          text,
    created_at         timestamptz NOT NULL
);
CREATE INDEX action_items_task_idx ON action_items (task_id, created_at);
CREATE INDEX action_items_trial_idx ON action_items (trial_id) WHERE trial_id IS NOT NULL;

-- Validation outcomes, from fractal.validation-outcomes: one verdict per action.
CREATE TABLE validation_outcomes (
    action_id              text        PRIMARY KEY,
    task_id                text        NOT NULL,
    validator_id           text        NOT NULL,
    success                boolean     NOT NULL,
    level_requested        integer     NOT NULL,
    level_reached          integer     NOT NULL,
    failed_level           integer,
    error_type             text,
    error_message          text,
    error_category         text,
    applied_rule_ids       text[]      NOT NULL DEFAULT '{}',
    checks                 jsonb       NOT NULL DEFAULT '[]'::jsonb,
    trial_id               text,
    trial_rule_id          text,
    trial_arm              text,
    duration_ms            bigint      NOT NULL,
    execution_duration_ms  bigint      NOT NULL,
    validated_at           timestamptz NOT NULL
);
CREATE INDEX validation_outcomes_task_idx ON validation_outcomes (task_id, validated_at);
CREATE INDEX validation_outcomes_trial_idx ON validation_outcomes (trial_id) WHERE trial_id IS NOT NULL;

-- Error logs, from fractal.errors (the original architecture's error_logs).
CREATE TABLE error_logs (
    error_id     text        PRIMARY KEY,
    agent_id     text        NOT NULL,
    agent_type   text        NOT NULL,
    task_id      text,
    action_id    text,
    category     text        NOT NULL,
    error_type   text        NOT NULL,
    message      text        NOT NULL,
    fix_key      text,
    trial_id     text,
    context      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX error_logs_task_idx ON error_logs (task_id, occurred_at);
CREATE INDEX error_logs_pattern_idx ON error_logs (category, error_type, fix_key, occurred_at DESC);

-- Patterns, from fractal.error-patterns: one row per pattern key and window.
CREATE TABLE patterns (
    pattern_key       text        NOT NULL,
    window_start      timestamptz NOT NULL,
    window_end        timestamptz NOT NULL,
    category          text        NOT NULL,
    error_type        text        NOT NULL,
    fix_key           text,
    frequency         bigint      NOT NULL,
    confidence        double precision NOT NULL,
    examples          jsonb       NOT NULL DEFAULT '[]'::jsonb,
    suggested_fix     text        NOT NULL DEFAULT '',
    suggested_action  text        NOT NULL,
    late_events       bigint      NOT NULL DEFAULT 0,
    emitted_at        timestamptz NOT NULL,
    PRIMARY KEY (pattern_key, window_start)
);
CREATE INDEX patterns_emitted_idx ON patterns (emitted_at DESC);

-- Protocol rules, from fractal.protocol-rules (compacted): the latest version of each rule.
-- A tombstone keeps the row (the durable record) and stamps tombstoned_at.
CREATE TABLE protocol_rules (
    rule_id                   text        PRIMARY KEY,
    version                   integer     NOT NULL,
    description               text        NOT NULL,
    condition_category        text        NOT NULL,
    condition_error_type      text        NOT NULL,
    condition_action_type     text,
    condition_fix_key         text,
    action_kind               text        NOT NULL,
    action_parameters         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    confidence                double precision NOT NULL,
    status                    text        NOT NULL,
    status_reason             text,
    evidence_pattern_key      text        NOT NULL,
    evidence_frequency        bigint      NOT NULL,
    evidence_window_start     timestamptz NOT NULL,
    evidence_window_end       timestamptz NOT NULL,
    evidence_examples         jsonb       NOT NULL DEFAULT '[]'::jsonb,
    trial_id                  text,
    trial_sample_size         integer,
    trial_error_rate_without  double precision,
    trial_error_rate_with     double precision,
    trial_mean_ms_without     double precision,
    trial_mean_ms_with        double precision,
    trial_verdict             text,
    trial_decided_at          timestamptz,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL,
    tombstoned_at             timestamptz
);
CREATE INDEX protocol_rules_status_idx ON protocol_rules (status, updated_at DESC);

-- Task status, from fractal.task-status (compacted): the latest state and its transitions.
CREATE TABLE task_status (
    task_id           text        PRIMARY KEY,
    state             text        NOT NULL,
    previous_state    text,
    transitions       jsonb       NOT NULL DEFAULT '[]'::jsonb,
    failure_category  text,
    failure_reason    text,
    action_id         text,
    applied_rule_ids  text[]      NOT NULL DEFAULT '{}',
    missing_aspects   text[]      NOT NULL DEFAULT '{}',
    source            text,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX task_status_state_idx ON task_status (state, updated_at DESC);
CREATE INDEX task_status_updated_idx ON task_status (updated_at DESC);

-- Transactional outbox in Debezium's layout (io.debezium.transforms.outbox.EventRouter defaults):
-- an upstream system inserts a row in its own transaction; the outbox ingest streams it to
-- fractal.tasks. payload is a Task as JSON (snake_case fields of the Task schema).
CREATE TABLE outbox (
    id             uuid         PRIMARY KEY,
    aggregatetype  varchar(255) NOT NULL,
    aggregateid    varchar(255) NOT NULL,
    type           varchar(255) NOT NULL,
    payload        jsonb        NOT NULL,
    created_at     timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX outbox_created_idx ON outbox (created_at);

-- Outbox events the ingest has produced to Kafka, by outbox row id: a re-delivered event
-- (at-least-once CDC) is recognised and not produced again.
CREATE TABLE outbox_ingested (
    outbox_id    uuid        PRIMARY KEY,
    task_id      text        NOT NULL,
    produced_at  timestamptz NOT NULL DEFAULT now()
);

-- Offsets the sink has applied, written in the same transaction as the rows they produced:
-- on (re)assignment the sink seeks here, so a crash and replay neither duplicates nor loses rows.
CREATE TABLE sink_offsets (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    next_offset     bigint      NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, kafka_partition)
);
