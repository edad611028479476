#!/usr/bin/env bash
# Run a command with the local federation up (kafka.sh up --federation): start it if it is not running,
# and stop it afterwards if this script started it. The command gets each cluster's bootstrap servers
# as ANPR_FEDERATION_<NAME> (ANPR_FEDERATION_NL, _BE, _JC).
set -u
here=$(cd "$(dirname "$0")" && pwd)
started=0
if ! "$here/kafka.sh" status --federation >/dev/null 2>&1; then
  "$here/kafka.sh" up --federation || { "$here/kafka.sh" down --federation; exit 1; }
  started=1
fi
while read -r name servers; do
  export "ANPR_FEDERATION_$(echo "$name" | tr '[:lower:]' '[:upper:]')=$servers"
done < <("$here/kafka.sh" bootstrap --federation)
"$@"
rc=$?
[ "$started" = 1 ] && "$here/kafka.sh" down --federation
exit $rc
