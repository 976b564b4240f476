-- Each row the sink writes remembers the Kafka position of the record it came from (partition and
-- offset of its topic). The sink's upserts replace a row only with a record from a later offset,
-- so a sink instance that lost its partitions mid-batch (evicted, paused, slow) and commits late
-- cannot put older data over newer rows. NULL on rows written before this migration: any record
-- may replace those.
ALTER TABLE agents              ADD COLUMN src_partition integer, ADD COLUMN src_offset bigint;
ALTER TABLE tasks               ADD COLUMN src_partition integer, ADD COLUMN src_offset bigint;
ALTER TABLE action_items        ADD COLUMN src_partition integer, ADD COLUMN src_offset bigint;
ALTER TABLE validation_outcomes ADD COLUMN src_partition integer, ADD COLUMN src_offset bigint;
ALTER TABLE error_logs          ADD COLUMN src_partition integer, ADD COLUMN src_offset bigint;
ALTER TABLE patterns            ADD COLUMN src_partition integer, ADD COLUMN src_offset bigint;
ALTER TABLE protocol_rules      ADD COLUMN src_partition integer, ADD COLUMN src_offset bigint;
ALTER TABLE task_status         ADD COLUMN src_partition integer, ADD COLUMN src_offset bigint;
