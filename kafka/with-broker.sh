#!/usr/bin/env bash
# Run a command with the local broker up: start it if none answers, stop it afterwards if this script started it.
# With ANPR_KAFKA_BOOTSTRAP set, the given cluster is used and nothing is started.
set -u
here=$(cd "$(dirname "$0")" && pwd)
started=0
if [ -z "${ANPR_KAFKA_BOOTSTRAP:-}" ] && ! "$here/kafka.sh" status; then
  "$here/kafka.sh" up || exit 1
  started=1
fi
"$@"
rc=$?
[ "$started" = 1 ] && "$here/kafka.sh" down
exit $rc
