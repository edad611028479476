#!/usr/bin/env bash
# The demo behind `make demo` (run through kafka/with-broker.sh, so a broker is up):
# sample NL/BE watchlists → watchlist topic; engine + live alert tail in the background;
# the border-camera simulator for ~30 s; then a clean stop and one summary line.
set -euo pipefail
cd "$(dirname "$0")"
BIN=.venv/bin
OUT=demo-out
DURATION=${DEMO_DURATION_S:-30}
RATE=${DEMO_RATE:-200}
mkdir -p "$OUT"
rm -f "$OUT/engine-stats.json"

$BIN/anpr-simulate watchlists --size 500 --seed 7 --out "$OUT/watchlists.jsonl"
$BIN/anpr-watchlist publish "$OUT/watchlists.jsonl"

$BIN/anpr-alerts --idle-timeout-s $((DURATION + 30)) &
tail_pid=$!
$BIN/anpr-engine run --stats-file "$OUT/engine-stats.json" 2>"$OUT/engine.log" &
engine_pid=$!
CONSOLE_PORT=${DEMO_CONSOLE_PORT:-8080}
ANPR_CONSOLE_AUTH=none $BIN/anpr-console --port "$CONSOLE_PORT" 2>"$OUT/console.log" &
console_pid=$!
cleanup() { kill "$engine_pid" "$tail_pid" "$console_pid" 2>/dev/null || true; }
trap cleanup EXIT
sleep 3
echo "demo: operator console at http://127.0.0.1:$CONSOLE_PORT/ (login disabled for the demo) until the demo ends" >&2

$BIN/anpr-simulate run --watchlist "$OUT/watchlists.jsonl" --seed "$RANDOM" --rate "$RATE" --duration-s "$DURATION" \
  --listed-share 0.02 --malformed-share 0.003 --quiet >"$OUT/simulate.log"
sleep 2
if [ -n "${DEMO_SCREENSHOTS:-}" ]; then  # the docs' screenshots, taken by the browser tests from this run
  ANPR_CONSOLE_URL="http://127.0.0.1:$CONSOLE_PORT" ANPR_SCREENSHOTS="$DEMO_SCREENSHOTS" \
    $BIN/python -m pytest -q -p no:cacheprovider tests/console/test_console_browser.py -k demo_screenshots >&2
fi
kill -TERM "$engine_pid"
wait "$engine_pid"
kill -TERM "$console_pid" 2>/dev/null || true
wait "$console_pid" 2>/dev/null || true
kill -TERM "$tail_pid" 2>/dev/null || true
wait "$tail_pid" 2>/dev/null || true
trap - EXIT

cat "$OUT/simulate.log" "$OUT/engine.log" | grep -E "(^| )(simulate|engine): " >&2
$BIN/python - "$OUT/engine-stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"demo: reads={s['reads']} alerts={s['alerts']} cross_border={s['cross_border']} dlq={s['dlq']}")
PY
