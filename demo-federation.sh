#!/usr/bin/env bash
# The demo behind `make demo-federation` (run through kafka/with-federation.sh, so the clusters nl, be
# and jc and the mirrors between them are up; docs/federation.md):
# sample lists of each country → its own cluster, part of each released to the other party; per party
# an exporter, an engine and a console, one console for the joint centre; each country's cameras on
# its own cluster for ~30 s; then a clean stop and one summary line, with reads_crossed counted: the
# reads of one party that hit nothing, found in any topic of another cluster.
set -euo pipefail
cd "$(dirname "$0")"
BIN=$PWD/.venv/bin
OUT=demo-out/federation
DURATION=${DEMO_DURATION_S:-30}
RATE=${DEMO_RATE:-100}
mkdir -p "$OUT"
rm -f "$OUT"/engine-*.json
declare -A PORT=([nl]=${DEMO_CONSOLE_PORT_NL:-8081} [be]=${DEMO_CONSOLE_PORT_BE:-8082} [jc]=${DEMO_CONSOLE_PORT_JC:-8083})
declare -A PARTNER=([nl]=be [be]=nl)
declare -A BOOT=([nl]=$ANPR_FEDERATION_NL [be]=$ANPR_FEDERATION_BE [jc]=$ANPR_FEDERATION_JC)

party() {  # party NAME: the settings of party NAME, for env (so that `env $(party nl) cmd &` is cmd's own pid)
  echo "ANPR_KAFKA_BOOTSTRAP=${BOOT[$1]} ANPR_FEDERATION__PARTY=$1 ANPR_FEDERATION__PARTNERS=[\"${PARTNER[$1]}\"]"
}

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
since_ms=$(($(date +%s%3N) - 1000))

# lists: each country's sample entries on its own cluster; of its three lists two are released
$BIN/anpr-simulate watchlists --size 300 --seed 7 --out "$OUT/watchlists.jsonl" 2>/dev/null
$BIN/python - "$OUT" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(f"{sys.argv[1]}/watchlists.jsonl")]
for country in ("NL", "BE"):
    with open(f"{sys.argv[1]}/{country.lower()}.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows if r["agency_country"] == country)
PY
for p in nl be; do
  lists=$($BIN/python -c "import json,sys; print(' '.join(sorted({json.loads(l)['list_name'] for l in open(sys.argv[1])})))" "$OUT/$p.jsonl")
  agency=$($BIN/python -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['agency'])" "$OUT/$p.jsonl")
  for l in $lists; do
    env $(party $p) $BIN/anpr-watchlist set-list "$l" --agency "$agency" --agency-country "${p^^}" >/dev/null
  done
  for l in $(echo "$lists" | tr ' ' '\n' | grep -E -- '-(stolen|wanted)$'); do
    env $(party $p) $BIN/anpr-watchlist release --to "${PARTNER[$p]}" --list-name "$l" >&2
  done
  env $(party $p) $BIN/anpr-watchlist publish "$OUT/$p.jsonl" >&2
done

for p in nl be; do
  env $(party $p) $BIN/anpr-watchlist export --follow 2>"$OUT/exporter-$p.log" & pids+=($!)
  env $(party $p) $BIN/anpr-engine run --stats-file "$OUT/engine-$p.json" 2>"$OUT/engine-$p.log" & pids+=($!)
  engines+=($!)
  env $(party $p) ANPR_CONSOLE_AUTH=none $BIN/anpr-console --port "${PORT[$p]}" 2>"$OUT/console-$p.log" & pids+=($!)
done
ANPR_KAFKA_BOOTSTRAP=${BOOT[jc]} ANPR_FEDERATION__PARTY=jc ANPR_FEDERATION__ROLE=centre ANPR_FEDERATION__PARTNERS='["nl","be"]' \
  ANPR_CONSOLE_AUTH=none $BIN/anpr-console --port "${PORT[jc]}" 2>"$OUT/console-jc.log" & pids+=($!)
for p in nl be; do  # each engine has loaded its table (its own lists and the partner's released entries)
  for _ in $(seq 1 240); do grep -q consuming "$OUT/engine-$p.log" && break; sleep 0.5; done
  grep -q consuming "$OUT/engine-$p.log" || { tail -20 "$OUT/engine-$p.log" >&2; echo "demo: engine $p did not start" >&2; exit 1; }
done
echo "demo: consoles (login disabled for the demo) nl http://127.0.0.1:${PORT[nl]}/ be http://127.0.0.1:${PORT[be]}/ joint centre http://127.0.0.1:${PORT[jc]}/" >&2

# each country's cameras on its own cluster, seeing vehicles of both countries' lists
for p in nl be; do
  env $(party $p) $BIN/anpr-simulate run --country "${p^^}" --watchlist "$OUT/watchlists.jsonl" --seed "$RANDOM" \
    --rate "$RATE" --duration-s "$DURATION" --listed-share 0.05 --quiet >"$OUT/simulate-$p.log" & sims+=($!)
done
for pid in "${sims[@]}"; do wait "$pid"; done
sleep 5  # the last hits cross
for pid in "${engines[@]}"; do kill -TERM "$pid"; wait "$pid" || true; done
cleanup
wait 2>/dev/null || true
trap - EXIT

# hits made abroad on each party's entries, as its cluster holds them; and the reads that crossed
crossed=0
for p in nl be; do
  line=$(env $(party $p) $BIN/anpr-federation crossed --home "${BOOT[$p]}" --abroad "${BOOT[${PARTNER[$p]}]}" --abroad "${BOOT[jc]}" \
         2>"$OUT/crossed-$p.log" < /dev/null | tee -a "$OUT/crossed.log") || true
  echo "demo: $p: $line" >&2
  c=$(echo "$line" | sed -n 's/.*crossed=\([0-9]*\).*/\1/p')
  [ -n "$c" ] || { cat "$OUT/crossed-$p.log" >&2; echo "demo: counting the reads that crossed failed" >&2; exit 1; }
  crossed=$((crossed + c))
done
$BIN/python - "$OUT" "$since_ms" "$crossed" <<'PY'
import json, sys
from anpr_engine.config import Settings, replica
from anpr_engine.io.topic_readers import TopicFollower
import os

out, since_ms, crossed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
stats = {p: json.load(open(f"{out}/engine-{p}.json")) for p in ("nl", "be")}
abroad = {}
for home, partner in (("nl", "be"), ("be", "nl")):
    s = Settings(bootstrap_servers=os.environ[f"ANPR_FEDERATION_{home.upper()}"])
    with TopicFollower(s, replica(partner, s.topics.hits(home)), since_ms=since_ms) as f:
        abroad[home] = sum(1 for chunk in f.read_to_end() for _, v in chunk if v is not None)
print(f"federation: nl_reads={stats['nl']['reads']} be_reads={stats['be']['reads']} "
      f"hits_for_nl_abroad={abroad['nl']} hits_for_be_abroad={abroad['be']} reads_crossed={crossed}")
PY
