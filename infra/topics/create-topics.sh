#!/usr/bin/env bash
# Creates the Fractal-RMO topics (idempotent: --if-not-exists). Same values as topics.yaml;
# infra's TopicFilesTest checks both against TopicCatalog.
#
# usage: BOOTSTRAP=kafka:9092 REPLICATION=3 PREFIX= ./create-topics.sh
set -euo pipefail
BOOTSTRAP="${BOOTSTRAP:-localhost:9092}"
REPLICATION="${REPLICATION:-3}"
PREFIX="${PREFIX:-}"
KAFKA_TOPICS="${KAFKA_TOPICS:-kafka-topics.sh}"

# create NAME PARTITIONS CLEANUP [CONFIG=VALUE ...]
create() {
  local name="$1" partitions="$2" cleanup="$3"; shift 3
  local configs=(--config "cleanup.policy=${cleanup}")
  for c in "$@"; do configs+=(--config "$c"); done
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "${PREFIX}${name}" --partitions "$partitions" --replication-factor "$REPLICATION" \
    "${configs[@]}"
}

create fractal.tasks 3 delete retention.ms=604800000
create fractal.analyses 3 delete retention.ms=604800000
create fractal.action-items 3 delete retention.ms=604800000
create fractal.execution-results 3 delete retention.ms=604800000
create fractal.validation-outcomes 3 delete retention.ms=604800000
create fractal.errors 3 delete retention.ms=2592000000
create fractal.error-patterns 3 delete retention.ms=2592000000
create fractal.protocol-rules 3 compact min.cleanable.dirty.ratio=0.1 segment.ms=3600000 delete.retention.ms=86400000
create fractal.rule-trials 3 delete retention.ms=2592000000
create fractal.task-status 3 compact min.cleanable.dirty.ratio=0.1 segment.ms=3600000 delete.retention.ms=86400000
create fractal.agent-status 3 compact min.cleanable.dirty.ratio=0.1 segment.ms=3600000 delete.retention.ms=86400000
create fractal.alerts 3 delete retention.ms=2592000000
create fractal.dlq 3 delete retention.ms=2592000000
