#!/bin/sh
# Launch script for a KRaft Kafka node (combined broker + controller).
# Expects: java on PATH, Kafka jars in $KAFKA_HOME/libs, the rendered config at
# $KAFKA_CONFIG and the cluster id in $CLUSTER_ID. Formats storage once, then runs.
# $KAFKA_FORMAT_ARGS (optional) adds format arguments, e.g. --add-scram credentials.
set -euf
KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
KAFKA_CONFIG=${KAFKA_CONFIG:-/etc/kafka/server.properties}
CP="$KAFKA_HOME/libs/*"
LOG4J="-Dlog4j2.configurationFile=/etc/kafka/log4j2.properties"
log_dir=$(sed -n 's/^log\.dirs=\([^,]*\).*/\1/p' "$KAFKA_CONFIG")
if [ ! -f "$log_dir/meta.properties" ]; then
  java $LOG4J -cp "$CP" kafka.tools.StorageTool format --config "$KAFKA_CONFIG" \
    --cluster-id "$CLUSTER_ID" --ignore-formatted ${KAFKA_FORMAT_ARGS:-}
fi
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -Djava.awt.headless=true $LOG4J ${KAFKA_OPTS:-} -cp "$CP" kafka.Kafka "$KAFKA_CONFIG"
