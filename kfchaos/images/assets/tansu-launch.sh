#!/bin/bash
# Launch script for a zone's Tansu broker container. A Tansu process advertises one
# listener, so this runs one `tansu broker` per listener, all over the same storage
# engine. TANSU_LISTENERS holds "port=advertised-url" pairs separated by spaces;
# STORAGE_ENGINE, CLUSTER_ID and the AWS_* variables come from the environment.
# The container stops when any process stops; SIGTERM stops them all.
set -u
pids=()
stop() {
  kill -TERM "${pids[@]}" 2>/dev/null
  wait
  exit 0
}
trap stop TERM INT
for spec in $TANSU_LISTENERS; do
  port=${spec%%=*}
  advertised=${spec#*=}
  tansu broker --listener-url "tcp://0.0.0.0:${port}" --advertised-listener-url "${advertised}" \
    --storage-engine "${STORAGE_ENGINE}" --cluster-id "${CLUSTER_ID}" &
  pids+=($!)
done
wait -n
status=$?
echo "tansu-launch: a broker process exited with status ${status}; stopping the others" >&2
kill -TERM "${pids[@]}" 2>/dev/null
wait
exit "${status}"
