# The local federation, sourced by kafka/kafka.sh for `--federation` and the *-mirror commands
# (docs/federation.md). Its members and what crosses between them are kafka/federation.conf; here:
# one single-node KRaft cluster per member (.kafka-federation/NAME) and one MirrorMaker 2 process in
# dedicated mode per receiving cluster (.kafka-federation/NAME/mirror: it writes into NAME, as it would
# run next to NAME's cluster in a real deployment). The Kafka client work (topics, probes) is
# kafka/federation_probe.py on the project's .venv.
# Uses from kafka.sh: here, KAFKA_VERSION, say, die, resolve_jars (the broker's jars, CACHE).

FED_CONF=${ANPR_KAFKA_FEDERATION_CONF:-$here/federation.conf}
FED_STATE=${ANPR_KAFKA_FEDERATION_STATE:-$here/../.kafka-federation}
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
      FED_MEMBERS+=("$name"); FED_PORT[$name]=$p; FED_KIND[$name]=$first ;;
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
probe_py() { "$FED_PY" "$here/federation_probe.py" "$@"; }

# --- clusters -----------------------------------------------------------------------------------------
prepare_cluster() {
  local n=$1 dir port; dir=$(cluster_dir "$n"); port=${FED_PORT[$n]}
  set_java "$FED_HEAP" "$CACHE/libs" "$here/log4j2.properties"
  mkdir -p "$dir/data"
  sed -e "s|@NODE_ID@|1|g" -e "s|@QUORUM@|controller.quorum.bootstrap.servers=127.0.0.1:$((port + 1))|g" \
      -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$((port + 1))|g" -e "s|@DATA_DIR@|$dir/data|g" \
      -e "s|@RF@|1|g" -e "s|@MIN_ISR@|1|g" "$here/server.properties.in" >"$dir/server.properties"
  if [ ! -f "$dir/data/meta.properties" ]; then
    [ -f "$dir/cluster.id" ] || "${JAVA_CMD[@]}" kafka.tools.StorageTool random-uuid | tail -1 >"$dir/cluster.id"
    "${JAVA_CMD[@]}" kafka.tools.StorageTool format --standalone -t "$(cat "$dir/cluster.id")" \
        -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; die "storage format of cluster $n failed"; }
  fi
}

launch_cluster() {
  local n=$1 dir; dir=$(cluster_dir "$n")
  set_java "$FED_HEAP" "$CACHE/libs" "$here/log4j2.properties"
  say "starting cluster $n (Kafka $KAFKA_VERSION, one node) on $(fed_bootstrap "$n") (log: $dir/broker.log)"
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
    for s in $t $(sources_of "$t"); do port_answers "${FED_PORT[$s]}" || die "cluster $s is not running: kafka.sh up --federation"; done
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
  for n in "${FED_MEMBERS[@]}"; do
    if pid=$(pid_of "$(cluster_dir "$n")/broker.pid"); then say "cluster $n already running (pid $pid)"; continue; fi
    port_answers "${FED_PORT[$n]}" && die "something else answers on $(fed_bootstrap "$n") (cluster $n's port)"
    port_answers $((FED_PORT[$n] + 1)) && die "something else answers on 127.0.0.1:$((FED_PORT[$n] + 1)) (cluster $n's controller)"
    prepare_cluster "$n"; launch_cluster "$n"; started+=("$n")
  done
  for n in "${started[@]}"; do await_cluster "$n"; done
  mapfile -t tgts < <(targets)
  ensure_link_topics "${tgts[@]}"
  start_mirrors "${tgts[@]}"
  say "federation ready: $(for n in "${FED_MEMBERS[@]}"; do printf '%s=%s ' "$n" "$(fed_bootstrap "$n")"; done)"
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
      member_arg "$MIRROR"
      [ -n "$(sources_of "$MIRROR")" ] || die "no mirror writes into $MIRROR"
      case "$1" in
        stop-mirror) stop_pids TERM "$(mirror_dir "$MIRROR")/mirror.pid" ;;
        kill-mirror) stop_pids KILL "$(mirror_dir "$MIRROR")/mirror.pid" ;;
        start-mirror) check_python; resolve_mirror_jars; start_mirrors "$MIRROR" ;;
      esac ;;
    *) die "$1 does not take --federation" ;;
  esac
}
