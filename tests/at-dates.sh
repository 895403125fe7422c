#!/usr/bin/env bash
# Runs the built test suite again with the clock of every process it starts (test host, service, PostgreSQL) moved to
# chosen instants, so that no test can depend on today's date, time or zone. libfaketime's offset mode shifts the real
# clock (which keeps running) by the same amount in every process, so they all agree; each instant is a few seconds
# before a day, month or year ends, so the run crosses it, and one run is in a zone far from UTC (TZ, which the test
# host, the service and a throwaway PostgreSQL's initdb all read). Usage, after a build: tests/at-dates.sh
# ["<instant>|<zone>" ...].
set -euo pipefail
cd "$(dirname "$0")/.."

library=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n1 || true)
if [ -z "$library" ]; then
  echo "libfaketime is missing: apt-get install faketime" >&2
  exit 1
fi

runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=("2026-12-31 23:59:50Z|UTC" "2028-02-29 23:59:50Z|UTC" "2030-09-09 23:59:50Z|Pacific/Chatham")

for run in "${runs[@]}"; do
  instant=${run%%|*}
  zone=${run#*|}
  [ "$zone" != "$run" ] || zone=UTC
  offset=$(( $(date -u -d "$instant" +%s) - $(date -u +%s) ))
  seen=$(FAKETIME="+$offset" LD_PRELOAD="$library" date -u +%Y-%m-%d)
  expected=$(date -u -d "$instant" +%Y-%m-%d)
  if [ "$seen" != "$expected" ]; then
    echo "libfaketime did not move the clock: expected $expected, saw $seen" >&2
    exit 1
  fi
  echo "== tests with the clock at $instant, TZ=$zone"
  TZ="$zone" FAKETIME="+$offset" LD_PRELOAD="$library" dotnet test --no-build
done
