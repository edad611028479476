# The local federation, sourced by kafka/kafka.sh for `--federation` and the *-mirror commands
# (docs/federation.md). Its members and what crosses between them are kafka/federation.conf; here:
# one single-node KRaft cluster per member (.kafka-federation/NAME) and one MirrorMaker 2 process in
# dedicated mode per receiving cluster (.kafka-federation/NAME/mirror: it writes into NAME, as it would
# run next to NAME's cluster in a real deployment). The Kafka client work (topics, probes) is
# kafka/federation_probe.py on the project's .venv.
# --secure (SECURE=1): the same members on TLS, SCRAM-SHA-512 and ACLs, as the secured node is, on their
# own state (.kafka-federation-secure) and ports (each member's port in the conf + 1000): one CA for
# the federation (STATE/tls), per cluster the secured node's users and the mirrors' (mirror-<target>:
# the mirror into <target>, on that cluster and on its sources) with random passwords
# (STATE/NAME/credentials.json, and each user's librdkafka properties in STATE/NAME/clients/USER.json),
# and the federation's ACLs (fed_acls); each mirror reads its passwords through Kafka's
# FileConfigProvider (STATE/NAME/mirror/credentials/), none is in its mm2.properties.
# Uses from kafka.sh: here, KAFKA_VERSION, SECURE, USERS, say, die, resolve_jars (the broker's jars,
# CACHE), make_tls, make_credentials, password_of.

FED_CONF=${ANPR_KAFKA_FEDERATION_CONF:-$here/federation.conf}
FED_SECURE=${SECURE:-0}
if [ "$FED_SECURE" = 1 ]; then
  FED_STATE=${ANPR_KAFKA_FEDERATION_SECURE_STATE:-${ANPR_KAFKA_FEDERATION_STATE:-$here/../.kafka-federation-secure}}
  FED_PORT_SHIFT=${ANPR_KAFKA_FEDERATION_SECURE_SHIFT:-1000}  # below 32768, the start of Linux's ephemeral ports
else
  FED_STATE=${ANPR_KAFKA_FEDERATION_STATE:-$here/../.kafka-federation}
  FED_PORT_SHIFT=0
fi
FED_HEAP=${ANPR_KAFKA_HEAP:-512m}
MIRROR_HEAP=${ANPR_KAFKA_MIRROR_HEAP:-256m}
MIRROR_CACHE=${ANPR_KAFKA_MIRROR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anpr-engine/kafka-mirror-$KAFKA_VERSION}
FED_PY=${PYTHON:-$here/../.venv/bin/python}
PROBE_TIMEOUT_S=${ANPR_KAFKA_PROBE_TIMEOUT_S:-180}

# --- kafka/federation.conf ----------------------------------------------------------------------------
declare -A FED_PORT FED_KIND
FED_MEMBERS=()
RULE_PARTY=()   # the topics of party>party, with {from} and {to}
RULE_CENTRE=()  # the topics of party>centre
[ -f "$FED_CONF" ] || die "no federation configuration: $FED_CONF"
while read -r first rest; do
  case "$first" in
    ''|'#'*) ;;
    party|centre)
      read -r name p <<<"$rest"
      [[ "$name" =~ ^[a-z][a-z0-9]*$ ]] || die "$FED_CONF: member name '$name': lower-case letters and digits"
      [[ "$p" =~ ^[0-9]+$ ]] || die "$FED_CONF: member $name needs a port"
      FED_MEMBERS+=("$name"); FED_PORT[$name]=$((p + FED_PORT_SHIFT)); FED_KIND[$name]=$first ;;
    'party>party') read -r -a RULE_PARTY <<<"$rest" ;;
    'party>centre') read -r -a RULE_CENTRE <<<"$rest" ;;
    *) die "$FED_CONF: unknown line '$first $rest'" ;;
  esac
done <"$FED_CONF"
[ ${#FED_MEMBERS[@]} -gt 0 ] || die "$FED_CONF names no member"

member_arg() { [ -n "${1:-}" ] && [ -n "${FED_PORT[$1]:-}" ] || die "no federation member '${1:-}' (kafka/federation.conf: ${FED_MEMBERS[*]})"; }
fed_bootstrap() { echo "127.0.0.1:${FED_PORT[$1]}"; }
cluster_dir() { echo "$FED_STATE/$1"; }
mirror_dir() { echo "$FED_STATE/$1/mirror"; }

# The members whose cluster the mirror into $1 reads from.
sources_of() {
  local t=$1 s
  for s in "${FED_MEMBERS[@]}"; do
    [ "$s" != "$t" ] && [ "${FED_KIND[$s]}" = party ] || continue
    if [ "${FED_KIND[$t]}" = party ] && [ ${#RULE_PARTY[@]} -gt 0 ]; then echo "$s"; fi
    if [ "${FED_KIND[$t]}" = centre ] && [ ${#RULE_CENTRE[@]} -gt 0 ]; then echo "$s"; fi
  done
}
# The topic specs (NAME[:CONFIG=VALUE...]) of the link $1 -> $2, one a line; the first is the probe's.
link_specs() {
  local s=$1 t=$2 spec rule=()
  if [ "${FED_KIND[$t]}" = centre ]; then rule=("${RULE_CENTRE[@]}"); else rule=("${RULE_PARTY[@]}"); fi
  for spec in "${rule[@]}"; do spec=${spec//\{from\}/$s}; echo "${spec//\{to\}/$t}"; done
}
link_topics() { link_specs "$1" "$2" | cut -d: -f1; }
targets() { local t; for t in "${FED_MEMBERS[@]}"; do [ -z "$(sources_of "$t")" ] || echo "$t"; done; }
sends_to() { local s; for s in $(sources_of "$2"); do [ "$s" != "$1" ] || return 0; done; return 1; }  # $1 -> $2?

# --- processes ----------------------------------------------------------------------------------------
pid_of() {  # the pid in pidfile $1, if that process runs
  [ -f "$1" ] || return 1
  local pid; pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Send signal $1 to each running process of the pidfiles that follow, then wait until all are gone
# (SIGKILL after 60 s).
stop_pids() {
  local sig=$1 f pid left=(); shift
  for f in "$@"; do
    if pid=$(pid_of "$f"); then say "stopping $(label_of "$f") (pid $pid, SIG$sig)"; kill "-$sig" "$pid"; left+=("$f")
    else rm -f "$f"; say "$(label_of "$f") not running"; fi
  done
  for _ in $(seq 1 120); do
    local still=()
    for f in "${left[@]}"; do if pid_of "$f" >/dev/null; then still+=("$f"); else rm -f "$f"; say "$(label_of "$f") stopped"; fi; done
    left=("${still[@]}")
    [ ${#left[@]} -gt 0 ] || return 0
    sleep 0.5
  done
  for f in "${left[@]}"; do kill -KILL "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; say "$(label_of "$f") killed after 60 s"; done
}
label_of() {
  case "$1" in
    */mirror/mirror.pid) local d=${1%/mirror/mirror.pid}; echo "mirror into ${d##*/}" ;;
    *) local d=${1%/broker.pid}; echo "cluster ${d##*/}" ;;
  esac
}

set_java() {  # JAVA_CMD for a JVM: heap, directory of its jars, its log4j2 configuration
  JAVA_CMD=(java -Xms128m "-Xmx$1" -XX:+UseG1GC -Djava.awt.headless=true "-Dlog4j2.configurationFile=$3" -cp "$2/*")
}

check_python() {
  "$FED_PY" -c 'import confluent_kafka' 2>/dev/null \
    || die "the federation needs Python with confluent_kafka ($FED_PY): run 'make venv', or set PYTHON"
}
probe_py() {
  if [ "$FED_SECURE" = 1 ]; then "$FED_PY" "$here/federation_probe.py" --clients "$FED_STATE/clients.json" "$@"
  else "$FED_PY" "$here/federation_probe.py" "$@"; fi
}

# --- the secured federation ---------------------------------------------------------------------------
FED_TLS=$FED_STATE/tls
mirror_user() { echo "mirror-$1"; }  # the mirror into $1, as it logs in to $1 and to each of its sources

# The SCRAM users of cluster $1: the secured node's, the mirror's into $1, and the mirror's of each
# member $1 sends to.
users_of() {
  local n=$1 t
  printf '%s\n' "${USERS[@]}"
  for t in $(targets); do if [ "$t" = "$n" ] || sends_to "$n" "$t"; then mirror_user "$t"; fi; done
}

# The state directory made absolute (the client files name the CA by its path), kept out of git.
secure_state() {
  mkdir -p "$FED_STATE"; FED_STATE=$(cd "$FED_STATE" && pwd); FED_TLS=$FED_STATE/tls
  [ -f "$FED_STATE/.gitignore" ] || echo '*' >"$FED_STATE/.gitignore"
}

client_json() {  # librdkafka properties of user $2 on cluster $1
  printf '{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "%s", "sasl.password": "%s", "ssl.ca.location": "%s"}' \
      "$2" "$(password_of "$(cluster_dir "$1")/credentials.json" "$2")" "$FED_TLS/ca.pem"
}

# Cluster $1's users with their passwords (made once each), their librdkafka properties
# (clients/USER.json: e.g. ANPR_KAFKA_EXTRA="$(cat .../nl/clients/engine.json)"), and clients.json: the
# admin's properties on every cluster by its bootstrap servers, for federation_probe.py.
write_credentials() {
  local n=$1 dir u m sep="" users; dir=$(cluster_dir "$n"); mkdir -p "$dir"
  mapfile -t users < <(users_of "$n")
  make_credentials "$dir/credentials.json" "${users[@]}"
  (umask 077; mkdir -p "$dir/clients"
   for u in "${users[@]}"; do client_json "$n" "$u" >"$dir/clients/$u.json"; done
   { echo "{"; for m in "${FED_MEMBERS[@]}"; do
       [ -f "$(cluster_dir "$m")/credentials.json" ] || continue
       printf '%s  "%s": %s' "$sep" "$(fed_bootstrap "$m")" "$(client_json "$m" admin)"; sep=$',\n'
     done; echo; echo "}"; } >"$FED_STATE/clients.json")
}

# The federation's ACLs on cluster $1 (docs/federation.md, Secured federation), one a line:
# RESOURCE_TYPE/NAME/PRINCIPAL/OPERATION,... (all literal, all ALLOW). The mirror's are what
# MirrorMaker 4.1.1 was seen to use (the brokers' kafka.authorizer.logger at DEBUG), no more.
fed_acls() {
  local n=$1 s t x m u
  # the mirror of each member n sends to: read the topics of that link (and their configuration, for
  # the sync), nothing else; no group (it assigns partitions and keeps its offsets on its target)
  for t in $(targets); do
    sends_to "$n" "$t" || continue
    for x in $(link_topics "$n" "$t"); do echo "TOPIC/$x/User:$(mirror_user "$t")/READ,DESCRIBE,DESCRIBE_CONFIGS"; done
  done
  # the mirror into n: create and write the replicas (their configuration and partitions synced from
  # the source), its Connect workers' topics, group and transactions (one worker group per flow
  # <source>-mm2, exactly-once: the leader's transactional id connect-cluster-<group>, one per source
  # task <group>-MirrorSourceConnector-<task>, tasks.max being 1), the offset syncs, and the empty
  # checkpoint and heartbeat topics its other two connectors create
  if [ -n "$(sources_of "$n")" ]; then
    m=User:$(mirror_user "$n")
    echo "CLUSTER/kafka-cluster/$m/IDEMPOTENT_WRITE"
    for s in $(sources_of "$n"); do
      for x in $(link_topics "$s" "$n"); do echo "TOPIC/$s.$x/$m/CREATE,WRITE,DESCRIBE,DESCRIBE_CONFIGS,ALTER_CONFIGS,ALTER"; done
      for x in "mm2-configs.$s.internal" "mm2-offsets.$s.internal" "mm2-status.$s.internal"; do
        echo "TOPIC/$x/$m/CREATE,READ,WRITE,DESCRIBE,DESCRIBE_CONFIGS"
      done
      echo "TOPIC/mm2-offset-syncs.$s.internal/$m/CREATE,WRITE,DESCRIBE,DESCRIBE_CONFIGS"
      echo "TOPIC/$s.checkpoints.internal/$m/CREATE,DESCRIBE,DESCRIBE_CONFIGS"
      echo "GROUP/$s-mm2/$m/READ"
      echo "TRANSACTIONAL_ID/connect-cluster-$s-mm2/$m/WRITE,DESCRIBE"
      echo "TRANSACTIONAL_ID/$s-mm2-MirrorSourceConnector-0/$m/WRITE,DESCRIBE"
    done
    echo "TOPIC/heartbeats/$m/CREATE,DESCRIBE,DESCRIBE_CONFIGS"
  fi
  # the engine, operators, privileged users and the console on the federation's topics, as the
  # project's own ACLs have them (anpr-engine topics --acls with federation.party set:
  # anpr_engine/io/admin.py, federation_grants; test_federation_secure.py holds the two equal)
  for t in $(targets); do
    sends_to "$n" "$t" || continue
    for x in $(link_topics "$n" "$t"); do
      case "$x" in
        anpr.hits.covert.*) echo "TOPIC/$x/User:engine/READ,WRITE,DESCRIBE" ;;  # read back at take-over
        anpr.hits.*) echo "TOPIC/$x/User:engine/WRITE,DESCRIBE" ;;
      esac
    done
  done
  for s in $(sources_of "$n"); do
    for x in $(link_topics "$s" "$n"); do
      case "$x" in
        anpr.export.*) echo "TOPIC/$s.$x/User:engine/READ,DESCRIBE" ;;
        anpr.hits.covert.*) for u in privileged console; do echo "TOPIC/$s.$x/User:$u/READ,DESCRIBE"; done ;;
        anpr.hits.*|anpr.alerts) for u in operator privileged console; do echo "TOPIC/$s.$x/User:$u/READ,DESCRIBE"; done ;;
        anpr.alerts.feedback) echo "TOPIC/$s.$x/User:console/READ,DESCRIBE" ;;
      esac
    done
  done
}

# Users missing on cluster $1 (a member added to the conf after its format) and its ACLs.
secure_cluster() {
  local n=$1 acls; mapfile -t acls < <(fed_acls "$n")
  probe_py users "$(fed_bootstrap "$n")" "$(cluster_dir "$n")/credentials.json" || die "could not create the users of cluster $n"
  probe_py acls "$(fed_bootstrap "$n")" "${acls[@]}" || die "could not set the ACLs of cluster $n"
}

# --- clusters -----------------------------------------------------------------------------------------
prepare_cluster() {
  local n=$1 dir port; dir=$(cluster_dir "$n"); port=${FED_PORT[$n]}
  local format_args=(--standalone) u
  mkdir -p "$dir/data"
  if [ "$FED_SECURE" = 1 ]; then
    # the broker's log with the authorizer's refusals (kafka.authorizer.logger: each operation denied;
    # ANPR_KAFKA_AUTHORIZER_LOG=DEBUG: each one allowed too)
    { cat "$here/log4j2.properties"; echo "logger.authorizer.name = kafka.authorizer.logger"
      echo "logger.authorizer.level = ${ANPR_KAFKA_AUTHORIZER_LOG:-INFO}"; } >"$dir/log4j2.properties"
    sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$((port + 1))|g" -e "s|@INTERNAL_PORT@|$((port + 2))|g" \
        -e "s|@DATA_DIR@|$dir/data|g" -e "s|@TLS_DIR@|$FED_TLS|g" "$here/server-secure.properties.in" >"$dir/server.properties"
    for u in $(users_of "$n"); do
      format_args+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(password_of "$dir/credentials.json" "$u")]")
    done
  else
    sed -e "s|@NODE_ID@|1|g" -e "s|@QUORUM@|controller.quorum.bootstrap.servers=127.0.0.1:$((port + 1))|g" \
        -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$((port + 1))|g" -e "s|@DATA_DIR@|$dir/data|g" \
        -e "s|@RF@|1|g" -e "s|@MIN_ISR@|1|g" "$here/server.properties.in" >"$dir/server.properties"
  fi
  set_java "$FED_HEAP" "$CACHE/libs" "$(broker_log4j "$n")"
  if [ ! -f "$dir/data/meta.properties" ]; then
    [ -f "$dir/cluster.id" ] || "${JAVA_CMD[@]}" kafka.tools.StorageTool random-uuid | tail -1 >"$dir/cluster.id"
    "${JAVA_CMD[@]}" kafka.tools.StorageTool format "${format_args[@]}" -t "$(cat "$dir/cluster.id")" \
        -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; die "storage format of cluster $n failed"; }
  fi
}

broker_log4j() { if [ "$FED_SECURE" = 1 ]; then echo "$(cluster_dir "$1")/log4j2.properties"; else echo "$here/log4j2.properties"; fi; }

launch_cluster() {
  local n=$1 dir; dir=$(cluster_dir "$n")
  set_java "$FED_HEAP" "$CACHE/libs" "$(broker_log4j "$n")"
  say "starting cluster $n (Kafka $KAFKA_VERSION, one node$([ "$FED_SECURE" = 0 ] || echo ", SASL_SSL")) on $(fed_bootstrap "$n") (log: $dir/broker.log)"
  $(command -v setsid || true) nohup "${JAVA_CMD[@]}" kafka.Kafka "$dir/server.properties" >"$dir/broker.log" 2>&1 </dev/null &
  echo $! >"$dir/broker.pid"
}

await_cluster() {
  local n=$1 dir; dir=$(cluster_dir "$n")
  for _ in $(seq 1 240); do
    pid_of "$dir/broker.pid" >/dev/null || { tail -30 "$dir/broker.log" >&2; die "cluster $n exited during start-up"; }
    if port_answers "${FED_PORT[$n]}" && grep -q "Kafka Server started" "$dir/broker.log" \
        && probe_py ready "$(fed_bootstrap "$n")"; then
      say "cluster $n ready on $(fed_bootstrap "$n")"; return 0
    fi
    sleep 0.5
  done
  tail -30 "$dir/broker.log" >&2; die "cluster $n did not answer within 120 s"
}

# --- mirrors ------------------------------------------------------------------------------------------
resolve_mirror_jars() {
  [ -f "$MIRROR_CACHE/libs/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: install Apache Maven (Debian: apt-get install maven)"
  say "resolving MirrorMaker 2 ($KAFKA_VERSION) jars from Maven Central into $MIRROR_CACHE/libs"
  rm -rf "$MIRROR_CACHE/libs"; mkdir -p "$MIRROR_CACHE/libs"
  mvn -q -B -f "$here/pom-mirror.xml" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies \
      -DoutputDirectory="$MIRROR_CACHE/libs" -DincludeScope=runtime >"$MIRROR_CACHE/mvn.log" 2>&1 \
      || { tail -20 "$MIRROR_CACHE/mvn.log" >&2; die "mvn could not resolve MirrorMaker's jars (log: $MIRROR_CACHE/mvn.log)"; }
  [ -f "$MIRROR_CACHE/libs/connect-mirror-$KAFKA_VERSION.jar" ] || die "no connect-mirror-$KAFKA_VERSION.jar in $MIRROR_CACHE/libs"
  touch "$MIRROR_CACHE/libs/.complete"
}

# MirrorMaker 2's configuration for the mirror into $1, from kafka/federation.conf.
write_mm2() {
  local t=$1 s dir; dir=$(mirror_dir "$t"); mkdir -p "$dir"
  local sources; mapfile -t sources < <(sources_of "$t")
  {
    echo "# MirrorMaker 2 (dedicated mode, run as: MirrorMaker mm2.properties --clusters $t): the mirror that"
    echo "# writes into $t. Made by kafka/kafka.sh from kafka/federation.conf at each start: edit that file."
    echo "clusters = $t, $(IFS=,; echo "${sources[*]}" | sed 's/,/, /g')"
    echo "$t.bootstrap.servers = $(fed_bootstrap "$t")"
    for s in "${sources[@]}"; do echo "$s.bootstrap.servers = $(fed_bootstrap "$s")"; done
    echo
    [ "$FED_SECURE" = 0 ] || mm2_security "$t" "${sources[@]}"
    echo "# The flows into $t, each with its topics by name (MirrorMaker takes regexes, matched in full:"
    echo "# the dots are escaped, so nothing but these names can match). Replicas are named <source>.<topic>."
    for s in "${sources[@]}"; do
      echo "$s->$t.enabled = true"
      echo "$s->$t.topics = $(link_topics "$s" "$t" | sed 's/[.]/\\\\./g' | paste -sd, - | sed 's/,/, /g')"
    done
    echo
    echo "# Exactly-once (KIP-618): each task writes a batch and the source offsets it came from in one"
    echo "# transaction on $t; the sources are read read_committed, so aborted transactions never cross."
    echo "# (Not exactly.once.support = required: a flow's settings go to all three of its connectors, and"
    echo "# the heartbeat and checkpoint connectors, which cannot say, would be refused.)"
    echo "$t.exactly.once.source.support = enabled"
    for s in "${sources[@]}"; do echo "$s.consumer.isolation.level = read_committed"; done
    echo "# One process per target cluster: each flow's Connect group on $t has this one worker, always its"
    echo "# leader, which fences and writes task configurations itself. KIP-710's internal REST server"
    echo "# (dedicated.mode.enable.internal.rest, listeners) is only for a second process into $t."
    echo "# A crashed mirror leaves its open transaction behind, and its successor reads its offsets"
    echo "# read_committed, so it cannot start (nor can readers on $t get past it) until that transaction"
    echo "# times out: 10 s here, not the producer's 60."
    echo "$t.producer.transaction.timeout.ms = 10000"
    echo
    echo "# Besides records only the topics' configurations cross (a compacted export stays compacted);"
    echo "# no ACLs, no heartbeats, no consumer groups' offsets (a blank 'groups' matches none), and the"
    echo "# offset syncs stay on $t: the mirror writes nothing into a source cluster. The heartbeat and"
    echo "# checkpoint connectors still run, without tasks, and leave an empty 'heartbeats' and"
    echo "# '<source>.checkpoints.internal' on $t; a source's 'heartbeats' topic would be copied whatever"
    echo "# the topic names above, unless heartbeats.replication.enabled is false."
    echo "sync.topic.configs.enabled = true"
    echo "sync.topic.acls.enabled = false"
    echo "emit.heartbeats.enabled = false"
    echo "heartbeats.replication.enabled = false"
    echo "groups ="
    echo "offset-syncs.topic.location = target"
    echo "# a topic created on a source later is found within this (the default is 10 minutes)"
    echo "refresh.topics.interval.seconds = 5"
    echo
    echo "# Connect's plugins from their ServiceLoader manifests only, not a scan of every jar: the scan"
    echo "# took 10 s per flow, and as much memory again. (Read by MirrorMaker, and by each flow's worker.)"
    echo "plugin.discovery = service_load"
    echo "$t.plugin.discovery = service_load"
    echo
    echo "# single-node clusters"
    for k in replication.factor offset-syncs.topic.replication.factor checkpoints.topic.replication.factor \
             heartbeats.topic.replication.factor config.storage.replication.factor \
             offset.storage.replication.factor status.storage.replication.factor; do
      echo "$k = 1"
    done
  } >"$dir/mm2.properties"
}

# The secured federation's part of mm2.properties for the mirror into $1 (then its sources): TLS and
# SCRAM to every cluster as User:mirror-$1, its password on each read by Kafka's FileConfigProvider
# from credentials/CLUSTER.properties (mode 600) when the mirror starts, so no password is in this file
# (nor in the connectors' configurations MirrorMaker stores in mm2-configs.*.internal on the target).
mm2_security() {
  local t=$1 c creds; creds=$(mirror_dir "$t")/credentials
  (umask 077; mkdir -p "$creds"
   for c in "$@"; do
     printf 'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";\n' \
         "$(mirror_user "$t")" "$(password_of "$(cluster_dir "$c")/credentials.json" "$(mirror_user "$t")")" >"$creds/$c.properties"
   done)
  echo "# TLS (the federation's CA) and SCRAM-SHA-512 to every cluster, as User:$(mirror_user "$t"); each password is"
  echo "# read from credentials/CLUSTER.properties by Kafka's FileConfigProvider when the mirror starts."
  echo "config.providers = file"
  echo "config.providers.file.class = org.apache.kafka.common.config.provider.FileConfigProvider"
  for c in "$@"; do
    echo "$c.security.protocol = SASL_SSL"
    echo "$c.sasl.mechanism = SCRAM-SHA-512"
    echo "$c.sasl.jaas.config = \${file:$creds/$c.properties:sasl.jaas.config}"
    echo "$c.ssl.truststore.type = PEM"
    echo "$c.ssl.truststore.location = $FED_TLS/ca.pem"
  done
  echo
}

launch_mirror() {
  local t=$1 dir; dir=$(mirror_dir "$t")
  set_java "$MIRROR_HEAP" "$MIRROR_CACHE/libs" "$here/log4j2-mirror.properties"
  write_mm2 "$t"
  say "starting the mirror into $t, from $(sources_of "$t" | paste -sd, -) (log: $dir/mirror.log)"
  $(command -v setsid || true) nohup "${JAVA_CMD[@]}" org.apache.kafka.connect.mirror.MirrorMaker \
      "$dir/mm2.properties" --clusters "$t" >"$dir/mirror.log" 2>&1 </dev/null &
  echo $! >"$dir/mirror.pid"
}

# The link specs of the probe into each of the given targets: FROM=BOOTSTRAP/TOPIC>TO=BOOTSTRAP/REPLICA
probe_links() {
  local t s first
  for t in "$@"; do
    for s in $(sources_of "$t"); do
      first=$(link_topics "$s" "$t" | head -1)
      echo "$s=$(fed_bootstrap "$s")/$first>$t=$(fed_bootstrap "$t")/$s.$first"
    done
  done
}

# Wait until a probe has crossed every link into the given targets (each mirror has started its tasks
# and copies), or die with the tail of the logs of the mirrors that exited or did not deliver.
await_mirrors() {
  local t links; mapfile -t links < <(probe_links "$@")
  if ! probe_py probe --timeout "$PROBE_TIMEOUT_S" "${links[@]}"; then
    for t in "$@"; do
      pid_of "$(mirror_dir "$t")/mirror.pid" >/dev/null || say "the mirror into $t is not running"
      echo "--- $(mirror_dir "$t")/mirror.log" >&2; tail -20 "$(mirror_dir "$t")/mirror.log" >&2
    done
    die "a link did not copy its probe within $PROBE_TIMEOUT_S s"
  fi
}

ensure_link_topics() {  # on every source of the given targets, the topics of its links
  local t s
  for t in "$@"; do
    for s in $(sources_of "$t"); do
      mapfile -t specs < <(link_specs "$s" "$t")
      probe_py topics "$(fed_bootstrap "$s")" "${specs[@]}" || die "could not create the topics of $s -> $t on $s"
    done
  done
}

start_mirrors() {
  local t started=()
  for t in "$@"; do
    if pid=$(pid_of "$(mirror_dir "$t")/mirror.pid"); then say "the mirror into $t already runs (pid $pid)"; continue; fi
    for s in $t $(sources_of "$t"); do
      port_answers "${FED_PORT[$s]}" || die "cluster $s is not running: kafka.sh up --federation$([ "$FED_SECURE" = 0 ] || echo " --secure")"
    done
    launch_mirror "$t"; started+=("$t")
  done
  await_mirrors "$@"
}

# --- commands -----------------------------------------------------------------------------------------
fed_up() {
  command -v java >/dev/null || die "java not found: install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  check_python
  resolve_jars; resolve_mirror_jars
  local n started=()
  if [ "$FED_SECURE" = 1 ]; then
    secure_state; make_tls "$FED_TLS"
    for n in "${FED_MEMBERS[@]}"; do write_credentials "$n"; done
  fi
  for n in "${FED_MEMBERS[@]}"; do
    if pid=$(pid_of "$(cluster_dir "$n")/broker.pid"); then say "cluster $n already running (pid $pid)"; continue; fi
    port_answers "${FED_PORT[$n]}" && die "something else answers on $(fed_bootstrap "$n") (cluster $n's port)"
    port_answers $((FED_PORT[$n] + 1)) && die "something else answers on 127.0.0.1:$((FED_PORT[$n] + 1)) (cluster $n's controller)"
    [ "$FED_SECURE" = 0 ] || ! port_answers $((FED_PORT[$n] + 2)) \
      || die "something else answers on 127.0.0.1:$((FED_PORT[$n] + 2)) (cluster $n's inter-broker listener)"
    prepare_cluster "$n"; launch_cluster "$n"; started+=("$n")
  done
  for n in "${started[@]}"; do await_cluster "$n"; done
  if [ "$FED_SECURE" = 1 ]; then for n in "${FED_MEMBERS[@]}"; do secure_cluster "$n"; done; fi
  mapfile -t tgts < <(targets)
  ensure_link_topics "${tgts[@]}"
  start_mirrors "${tgts[@]}"
  say "federation ready: $(for n in "${FED_MEMBERS[@]}"; do printf '%s=%s ' "$n" "$(fed_bootstrap "$n")"; done)"
  [ "$FED_SECURE" = 0 ] || say "secured: SASL_SSL, SCRAM-SHA-512, ACLs; CA $FED_TLS/ca.pem; users in $FED_STATE/NAME/credentials.json, clients in $FED_STATE/NAME/clients/USER.json"
}

# Start cluster $1 again (after stop-cluster or kill-cluster), wait until it answers, then until a probe
# has crossed each link of the running mirrors that write into it or read from it. The mirrors reading
# from it reconnect by themselves; the one writing into it is restarted: its Connect worker keeps its
# own state in that cluster, and after an outage of a minute it stalled for good in 1 of 2 runs under
# load ("worker poll timeout has expired", then nothing), as a supervisor would find and restart it.
start_cluster() {
  local n=$1 pid t tgts=()
  if pid=$(pid_of "$(cluster_dir "$n")/broker.pid"); then say "cluster $n already running (pid $pid)"; return 0; fi
  [ -f "$(cluster_dir "$n")/data/meta.properties" ] \
    || die "cluster $n has never run: kafka.sh up --federation$([ "$FED_SECURE" = 0 ] || echo " --secure")"
  check_python; resolve_jars
  [ "$FED_SECURE" = 0 ] || secure_state
  prepare_cluster "$n"; launch_cluster "$n"; await_cluster "$n"
  if [ -n "$(sources_of "$n")" ] && pid_of "$(mirror_dir "$n")/mirror.pid" >/dev/null; then
    say "restarting the mirror into $n"
    stop_pids TERM "$(mirror_dir "$n")/mirror.pid"
    resolve_mirror_jars; start_mirrors "$n"
  fi
  for t in $(targets); do
    if [ "$t" != "$n" ] && sends_to "$n" "$t" && pid_of "$(mirror_dir "$t")/mirror.pid" >/dev/null; then tgts+=("$t"); fi
  done
  [ ${#tgts[@]} -eq 0 ] || await_mirrors "${tgts[@]}"
}

fed_down() {
  local t n mirrors=() clusters=()
  for t in $(targets); do mirrors+=("$(mirror_dir "$t")/mirror.pid"); done
  for n in "${FED_MEMBERS[@]}"; do clusters+=("$(cluster_dir "$n")/broker.pid"); done
  stop_pids TERM "${mirrors[@]}"
  stop_pids TERM "${clusters[@]}"
}

fed_status() {
  local n t ok=0 pid
  for n in "${FED_MEMBERS[@]}"; do
    if port_answers "${FED_PORT[$n]}"; then say "cluster $n answers on $(fed_bootstrap "$n")"; else say "cluster $n: down"; ok=1; fi
  done
  for t in $(targets); do
    if pid=$(pid_of "$(mirror_dir "$t")/mirror.pid"); then say "mirror into $t runs (pid $pid)"; else say "mirror into $t: down"; ok=1; fi
  done
  return $ok
}

federation() {
  case "$1" in
    up) fed_up ;;
    down) fed_down ;;
    status) fed_status ;;
    bootstrap)
      if [ -n "${FED_NAME:-}" ]; then member_arg "$FED_NAME"; fed_bootstrap "$FED_NAME"
      else for n in "${FED_MEMBERS[@]}"; do echo "$n $(fed_bootstrap "$n")"; done; fi ;;
    stop-mirror|kill-mirror|start-mirror)
      member_arg "$MEMBER"
      [ -n "$(sources_of "$MEMBER")" ] || die "no mirror writes into $MEMBER"
      case "$1" in
        stop-mirror) stop_pids TERM "$(mirror_dir "$MEMBER")/mirror.pid" ;;
        kill-mirror) stop_pids KILL "$(mirror_dir "$MEMBER")/mirror.pid" ;;
        start-mirror)
          check_python; resolve_mirror_jars
          [ "$FED_SECURE" = 0 ] || secure_state
          start_mirrors "$MEMBER" ;;
      esac ;;
    stop-cluster) member_arg "$MEMBER"; stop_pids TERM "$(cluster_dir "$MEMBER")/broker.pid" ;;
    kill-cluster) member_arg "$MEMBER"; stop_pids KILL "$(cluster_dir "$MEMBER")/broker.pid" ;;
    start-cluster) member_arg "$MEMBER"; start_cluster "$MEMBER" ;;
    *) die "$1 does not take --federation" ;;
  esac
}
