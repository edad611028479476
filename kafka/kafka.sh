#!/usr/bin/env bash
# Local Apache Kafka (KRaft) from Maven Central jars: one node, or a cluster of three.
#   kafka.sh up [--brokers 1|3]        resolve jars (once), format storage (once), start, wait until every node answers
#   kafka.sh down [--brokers 1|3]      stop the nodes this script started (fine if none runs)
#   kafka.sh status [--brokers 1|3]    exit 0 if every node answers on its port
#   kafka.sh bootstrap [--brokers 1|3] print the bootstrap servers
#   kafka.sh stop-broker I             stop node I (1..3) of the cluster (SIGTERM, a clean shutdown)
#   kafka.sh kill-broker I             kill node I of the cluster (SIGKILL, a crash)
#   kafka.sh start-broker I            start node I of the cluster again, and wait until it answers
#   kafka.sh up|down|status|bootstrap --secure   the secured node (below)
#   kafka.sh up|down|status --federation          the local federation: a cluster per member of
#                                      kafka/federation.conf (nl, be, jc) and MirrorMaker 2 between them
#   kafka.sh bootstrap --federation NAME          print cluster NAME's bootstrap servers
#   kafka.sh stop-mirror|kill-mirror|start-mirror NAME   the mirror that writes into cluster NAME
#                                      (SIGTERM, SIGKILL; start waits until a probe crosses each link)
#   kafka.sh stop-cluster|kill-cluster|start-cluster NAME   the federation's cluster NAME (SIGTERM,
#                                      SIGKILL; start waits until it answers and, the mirrors having
#                                      reconnected, a probe crosses each running link through it)
#   kafka.sh ... --federation --secure, kafka.sh *-mirror|*-cluster NAME --secure   the secured federation: the
#                                      same members on TLS, SCRAM and ACLs as the secured node, on their
#                                      own state (.kafka-federation-secure) and ports (the conf's + 1000)
# One node: broker and controller in one process on 127.0.0.1:9092. Three: each node is broker and
# controller (a static quorum of three voters, so one node may fail), brokers on 19092-19094,
# controllers on 19192-19194; replication factor 3, min.insync.replicas 2 for internal topics.
# --secure: one more node, on its own state and ports: clients on SASL_SSL (TLS, SCRAM-SHA-512) on
# 127.0.0.1:9192, the node's own links on mutual TLS, the standard authorizer (nothing allowed
# without an ACL; super users admin and the node). Its CA and certificate come from openssl at the
# first start (STATE/tls, nothing committed), its SCRAM users (admin, engine, operator, privileged,
# gateway, each with a random password in STATE/credentials.json) from the storage tool's format.
# Env: ANPR_KAFKA_BOOTSTRAP (use that cluster, start nothing), ANPR_KAFKA_PORT (9092, one node),
#      ANPR_KAFKA_CLUSTER_PORT (19092, three), ANPR_KAFKA_STATE (state dir), ANPR_KAFKA_CACHE (jar cache),
#      ANPR_KAFKA_HEAP (JVM heap per node: 1g for one node, 512m each for three or a federation).
# The federation's: ANPR_KAFKA_FEDERATION_CONF (kafka/federation.conf), ANPR_KAFKA_FEDERATION_STATE
#      (.kafka-federation), ANPR_KAFKA_MIRROR_HEAP (256m), ANPR_KAFKA_PROBE_TIMEOUT_S (180); with --secure
#      ANPR_KAFKA_FEDERATION_SECURE_STATE (else ANPR_KAFKA_FEDERATION_STATE, else .kafka-federation-secure),
#      ANPR_KAFKA_FEDERATION_SECURE_SHIFT (1000: added to the conf's ports), ANPR_KAFKA_AUTHORIZER_LOG
#      (INFO: the brokers log each operation refused; DEBUG: each one allowed too).
# The federation, plain and secured: kafka/federation.sh (sourced), docs/federation.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
CACHE=${ANPR_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anpr-engine/kafka-$KAFKA_VERSION}

say() { echo "kafka: $*"; }
die() { echo "kafka: error: $*" >&2; exit 1; }

cmd=${1:-}; shift || true
BROKERS=1
SECURE=0
FEDERATION=0
USERS=(admin engine operator privileged gateway)
case "$cmd" in stop-broker|kill-broker|start-broker) NODE=${1:-}; shift || true; BROKERS=3 ;; esac
case "$cmd" in
  stop-mirror|kill-mirror|start-mirror|stop-cluster|kill-cluster|start-cluster) MEMBER=${1:-}; shift || true; FEDERATION=1 ;;
esac
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) BROKERS=${2:-}; shift 2 ;;
    --secure) SECURE=1; shift ;;
    --federation) FEDERATION=1; shift ;;
    *) if [ "$cmd" = bootstrap ] && [ -z "${FED_NAME:-}" ] && [ "${1#-}" = "$1" ]; then FED_NAME=$1; shift
       else die "unknown argument $1"; fi ;;
  esac
done
case "$BROKERS" in 1|3) ;; *) die "--brokers must be 1 or 3" ;; esac
[ "$SECURE" = 0 ] || [ "$BROKERS" = 1 ] || die "--secure runs one node"
[ "$FEDERATION" = 0 ] || [ "$BROKERS" = 1 ] || die "--federation does not take --brokers"
[ -z "${FED_NAME:-}" ] || [ "$FEDERATION" = 1 ] || die "bootstrap NAME needs --federation"

if [ "$SECURE" = 1 ]; then
  BASE_PORT=${ANPR_KAFKA_SECURE_PORT:-9192}
  STATE=${ANPR_KAFKA_STATE:-$here/../.kafka-secure}
  HEAP=${ANPR_KAFKA_HEAP:-1g}
elif [ "$BROKERS" = 1 ]; then
  BASE_PORT=${ANPR_KAFKA_PORT:-9092}
  STATE=${ANPR_KAFKA_STATE:-$here/../.kafka}
  HEAP=${ANPR_KAFKA_HEAP:-1g}
else
  BASE_PORT=${ANPR_KAFKA_CLUSTER_PORT:-19092}
  STATE=${ANPR_KAFKA_STATE:-$here/../.kafka-cluster}
  HEAP=${ANPR_KAFKA_HEAP:-512m}
fi

port() { echo $((BASE_PORT + $1 - 1)); }
controller_port() { if [ "$BROKERS" = 1 ]; then echo $((BASE_PORT + 1)); else echo $((BASE_PORT + 100 + $1 - 1)); fi; }
node_dir() { if [ "$BROKERS" = 1 ]; then echo "$STATE"; else echo "$STATE/node$1"; fi; }
nodes() { seq 1 "$BROKERS"; }
bootstrap() { local out=""; for i in $(nodes); do out="$out${out:+,}127.0.0.1:$(port "$i")"; done; echo "$out"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$(port "$1")") 2>/dev/null; }
running_pid() {
  local pidfile; pidfile="$(node_dir "$1")/broker.pid"
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
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

JAVA=(java "-Xms256m" "-Xmx$HEAP" -XX:+UseG1GC -Djava.awt.headless=true
      "-Dlog4j2.configurationFile=$here/log4j2.properties" -cp "$CACHE/libs/*")

# A CA in directory $1, and a certificate it signs for the nodes (CN=broker, for 127.0.0.1 and
# localhost, server and client: the nodes' own links are mutual TLS) with its key, made once. One CA
# for the secured node (STATE/tls), one for the whole secured federation.
make_tls() {
  local tls=$1
  [ -f "$tls/broker.pem" ] && return 0
  command -v openssl >/dev/null || die "openssl not found (Debian: apt-get install openssl)"
  mkdir -p "$tls"; chmod 700 "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 365 \
      -subj "/CN=anpr-engine local CA" >/dev/null 2>&1 || die "openssl: CA"
  openssl req -newkey rsa:2048 -nodes -keyout "$tls/broker.key" -out "$tls/broker.csr" -subj "/CN=broker" \
      >/dev/null 2>&1 || die "openssl: certificate request"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$tls/ext.cnf"
  openssl x509 -req -in "$tls/broker.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
      -out "$tls/broker.crt" -days 365 -extfile "$tls/ext.cnf" >/dev/null 2>&1 || die "openssl: signing"
  cat "$tls/broker.key" "$tls/broker.crt" "$tls/ca.pem" >"$tls/broker.pem"
  chmod 600 "$tls"/*.key "$tls/broker.pem"
}

# The SCRAM users' passwords file $1 ({"user": "password", ...}): a random password for each user
# named after it that the file does not have yet, each made once; the storage format creates the users.
make_credentials() {
  local f=$1 json="{" sep="" u pw; shift
  for u in "$@"; do
    pw=$( [ -f "$f" ] && password_of "$f" "$u" || true)
    json="$json$sep\"$u\": \"${pw:-$(openssl rand -hex 16)}\""; sep=", "
  done
  [ -f "$f" ] && [ "$(cat "$f")" = "$json}" ] && return 0
  (umask 077; echo "$json}" >"$f.new") && mv "$f.new" "$f"
}

password_of() { sed -n "s/.*\"$2\": \"\([0-9a-f]*\)\".*/\1/p" "$1"; }

# Write node i's properties and format its storage (once).
prepare() {
  local i=$1 dir quorum rf=1 min_isr=1 format_args=()
  dir=$(node_dir "$i"); mkdir -p "$dir/data"
  if [ "$SECURE" = 1 ]; then
    make_tls "$STATE/tls"; make_credentials "$STATE/credentials.json" "${USERS[@]}"
    sed -e "s|@PORT@|$(port 1)|g" -e "s|@CONTROLLER_PORT@|$((BASE_PORT + 1))|g" \
        -e "s|@INTERNAL_PORT@|$((BASE_PORT + 2))|g" -e "s|@DATA_DIR@|$dir/data|g" -e "s|@TLS_DIR@|$STATE/tls|g" \
        "$here/server-secure.properties.in" >"$dir/server.properties"
    format_args=(--standalone)
    for u in "${USERS[@]}"; do format_args+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(password_of "$STATE/credentials.json" "$u")]"); done
  elif [ "$BROKERS" = 1 ]; then
    quorum="controller.quorum.bootstrap.servers=127.0.0.1:$(controller_port 1)"
    format_args=(--standalone)
  else
    local voters=""
    for j in $(nodes); do voters="$voters${voters:+,}$j@127.0.0.1:$(controller_port "$j")"; done
    quorum="controller.quorum.voters=$voters"
    rf=3; min_isr=2
  fi
  if [ "$SECURE" = 0 ]; then
    sed -e "s|@NODE_ID@|$i|g" -e "s|@QUORUM@|$quorum|g" -e "s|@PORT@|$(port "$i")|g" \
        -e "s|@CONTROLLER_PORT@|$(controller_port "$i")|g" -e "s|@DATA_DIR@|$dir/data|g" \
        -e "s|@RF@|$rf|g" -e "s|@MIN_ISR@|$min_isr|g" "$here/server.properties.in" >"$dir/server.properties"
  fi
  if [ ! -f "$dir/data/meta.properties" ]; then
    [ -f "$STATE/cluster.id" ] || "${JAVA[@]}" kafka.tools.StorageTool random-uuid | tail -1 >"$STATE/cluster.id"
    "${JAVA[@]}" kafka.tools.StorageTool format "${format_args[@]}" -t "$(cat "$STATE/cluster.id")" \
        -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; die "storage format of node $i failed"; }
  fi
}

launch() {
  local i=$1 dir; dir=$(node_dir "$i")
  say "starting Kafka $KAFKA_VERSION node $i on 127.0.0.1:$(port "$i") (log: $dir/broker.log)"
  $(command -v setsid || true) nohup "${JAVA[@]}" kafka.Kafka "$dir/server.properties" >"$dir/broker.log" 2>&1 </dev/null &
  echo $! >"$dir/broker.pid"
}

# Wait until node i has started and answers metadata requests.
await() {
  local i=$1 dir; dir=$(node_dir "$i")
  for _ in $(seq 1 180); do
    running_pid "$i" >/dev/null || { tail -30 "$dir/broker.log" >&2; die "node $i exited during start-up"; }
    if port_open "$i" && grep -q "Kafka Server started" "$dir/broker.log"; then
      if [ -z "${PYTHON:-}" ] || [ "$SECURE" = 1 ] || "$PYTHON" -c "import sys; from confluent_kafka.admin import AdminClient; sys.exit(0 if AdminClient({'bootstrap.servers':'127.0.0.1:$(port "$i")'}).list_topics(timeout=5).brokers else 1)" 2>/dev/null; then
        say "node $i ready on 127.0.0.1:$(port "$i")"; return 0
      fi
    fi
    sleep 0.5
  done
  tail -30 "$dir/broker.log" >&2; die "node $i did not answer within 90 s"
}

up() {
  if [ -n "${ANPR_KAFKA_BOOTSTRAP:-}" ]; then say "using ANPR_KAFKA_BOOTSTRAP=$ANPR_KAFKA_BOOTSTRAP, starting nothing"; return 0; fi
  command -v java >/dev/null || die "java not found: install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  local started=()
  for i in $(nodes); do
    if pid=$(running_pid "$i"); then say "node $i already running (pid $pid)"; continue; fi
    if port_open "$i"; then say "a broker already answers on 127.0.0.1:$(port "$i"), starting nothing"; continue; fi
    [ ${#started[@]} -gt 0 ] || { resolve_jars; mkdir -p "$STATE"; }
    prepare "$i"; launch "$i"; started+=("$i")
  done
  for i in "${started[@]}"; do await "$i"; done
  say "ready: $(bootstrap)"
  [ "$SECURE" = 0 ] || say "secured: SASL_SSL, SCRAM-SHA-512; CA $STATE/tls/ca.pem; users and passwords in $STATE/credentials.json"
}

stop_node() {
  local i=$1 sig=$2 pid dir; dir=$(node_dir "$i")
  if ! pid=$(running_pid "$i"); then say "node $i not running"; rm -f "$dir/broker.pid"; return 0; fi
  say "stopping node $i (pid $pid, SIG$sig)"
  kill "-$sig" "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$dir/broker.pid"; say "node $i stopped"; return 0; }; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true; rm -f "$dir/broker.pid"; say "node $i killed after 30 s"
}

down() {
  if [ -n "${ANPR_KAFKA_BOOTSTRAP:-}" ] && [ "$BROKERS" = 1 ]; then return 0; fi
  for i in $(nodes); do stop_node "$i" TERM; done
}

status() { for i in $(nodes); do port_open "$i" || return 1; done; }

node_arg() { case "${NODE:-}" in [1-9]) [ "$NODE" -le "$BROKERS" ] || die "no node $NODE";; *) die "usage: $0 $cmd I";; esac; }

if [ "$FEDERATION" = 1 ]; then
  . "$here/federation.sh"
  federation "$cmd"
  exit
fi

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  bootstrap) bootstrap ;;
  stop-broker) node_arg; stop_node "$NODE" TERM ;;
  kill-broker) node_arg; stop_node "$NODE" KILL ;;
  start-broker) node_arg; resolve_jars; prepare "$NODE"; launch "$NODE"; await "$NODE" ;;
  *) echo "usage: $0 up|down|status|bootstrap [--brokers 1|3|--secure|--federation [--secure] [NAME]] | stop-broker|kill-broker|start-broker I | stop-mirror|kill-mirror|start-mirror|stop-cluster|kill-cluster|start-cluster NAME [--secure]" >&2; exit 2 ;;
esac
