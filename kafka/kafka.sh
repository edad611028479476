#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) from Maven Central jars.
#   kafka.sh up      resolve jars (once), format storage (once), start, wait until it answers metadata
#   kafka.sh down    stop the broker this script started (fine if none runs)
#   kafka.sh status  exit 0 if a broker answers on the port
# Env: ANPR_KAFKA_BOOTSTRAP (use that cluster, start nothing), ANPR_KAFKA_PORT (9092),
#      ANPR_KAFKA_CONTROLLER_PORT (port+1), ANPR_KAFKA_STATE (state dir), ANPR_KAFKA_CACHE (jar cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
PORT=${ANPR_KAFKA_PORT:-9092}
CONTROLLER_PORT=${ANPR_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}
STATE=${ANPR_KAFKA_STATE:-$here/../.kafka}
CACHE=${ANPR_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anpr-engine/kafka-$KAFKA_VERSION}
PIDFILE=$STATE/broker.pid
LOG=$STATE/broker.log

say() { echo "kafka: $*"; }
die() { echo "kafka: error: $*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

resolve_jars() {
  [ -f "$CACHE/libs/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: install Apache Maven (Debian: apt-get install maven)"
  say "resolving Kafka $KAFKA_VERSION jars from Maven Central into $CACHE/libs"
  rm -rf "$CACHE/libs"; mkdir -p "$CACHE/libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$CACHE/libs" -DincludeScope=runtime >"$CACHE/mvn.log" 2>&1 \
      || { tail -20 "$CACHE/mvn.log" >&2; die "mvn could not resolve the broker's jars (log: $CACHE/mvn.log)"; }
  touch "$CACHE/libs/.complete"
}

JAVA=(java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
      "-Dlog4j2.configurationFile=$here/log4j2.properties" -cp "$CACHE/libs/*")

up() {
  if [ -n "${ANPR_KAFKA_BOOTSTRAP:-}" ]; then say "using ANPR_KAFKA_BOOTSTRAP=$ANPR_KAFKA_BOOTSTRAP, starting nothing"; return 0; fi
  if pid=$(running_pid); then say "already running (pid $pid) on 127.0.0.1:$PORT"; return 0; fi
  if port_open; then say "a broker already answers on 127.0.0.1:$PORT, starting nothing"; return 0; fi
  command -v java >/dev/null || die "java not found: install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  resolve_jars
  mkdir -p "$STATE/data"
  sed -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" -e "s|@DATA_DIR@|$STATE/data|g" \
      "$here/server.properties.in" >"$STATE/server.properties"
  if [ ! -f "$STATE/data/meta.properties" ]; then
    cluster_id=$("${JAVA[@]}" kafka.tools.StorageTool random-uuid | tail -1)
    "${JAVA[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$STATE/server.properties" >"$STATE/format.log" 2>&1 \
      || { cat "$STATE/format.log" >&2; die "storage format failed"; }
  fi
  say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (log: $LOG)"
  nohup "${JAVA[@]}" kafka.Kafka "$STATE/server.properties" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 120); do
    if ! running_pid >/dev/null; then tail -30 "$LOG" >&2; die "broker exited during start-up"; fi
    if port_open && grep -q "Kafka Server started" "$LOG"; then
      if [ -n "${PYTHON:-}" ]; then
        "$PYTHON" -c "import sys; from confluent_kafka.admin import AdminClient; sys.exit(0 if AdminClient({'bootstrap.servers':'127.0.0.1:$PORT'}).list_topics(timeout=5).brokers else 1)" 2>/dev/null \
          || { sleep 0.5; continue; }
      fi
      say "ready on 127.0.0.1:$PORT"; return 0
    fi
    sleep 0.5
  done
  tail -30 "$LOG" >&2; die "broker did not answer within 60 s"
}

down() {
  if [ -n "${ANPR_KAFKA_BOOTSTRAP:-}" ]; then return 0; fi
  if ! pid=$(running_pid); then say "not running"; rm -f "$PIDFILE"; return 0; fi
  say "stopping (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; say "stopped"; return 0; }; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true; rm -f "$PIDFILE"; say "killed after 30 s"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) port_open ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
