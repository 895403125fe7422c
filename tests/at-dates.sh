#!/usr/bin/env bash
# Runs the built test suite again with the clock of every process it starts (test host, service, PostgreSQL) moved to
# chosen instants, so that no test can depend on today's date, time or zone. libfaketime's offset mode shifts the real
# clock (which keeps running) by the same amount in every process, so they all agree; PostgreSQL is the local throwaway
# cluster (a container would not see the shift). The runs, always ahead of today (libfaketime moves the monotonic clock
# too, which must not go below zero): one that crosses next year's end a few seconds in; one on the next leap day; one
# in a zone 12:45 ahead of UTC in September (Pacific/Chatham), at an hour when its date is already the next day's.
# FLATPEAK_TEST_CLOCK tells the suite where the clock was put, and ClockTests checks that the service and PostgreSQL
# see it. Usage, after a build: tests/at-dates.sh ["<instant>|<zone>" ...] (instants after now).
set -euo pipefail
cd "$(dirname "$0")/.."

library=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n1 || true)
if [ -z "$library" ]; then
  echo "libfaketime is missing: apt-get install faketime" >&2
  exit 1
fi

next=$(( $(date -u +%Y) + 1 ))
leap=$next
until [ $((leap % 4)) -eq 0 ] && { [ $((leap % 100)) -ne 0 ] || [ $((leap % 400)) -eq 0 ]; }; do leap=$((leap + 1)); done
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=("$next-12-31 23:59:50Z|UTC" "$leap-02-29 12:00:00Z|UTC" "$next-09-09 12:00:00Z|Pacific/Chatham")

for run in "${runs[@]}"; do
  instant=${run%%|*}
  zone=${run#*|}
  [ "$zone" != "$run" ] || zone=UTC
  seconds=$(( $(date -u -d "$instant" +%s) - $(date -u +%s) ))
  if [ "$seconds" -le 0 ]; then
    echo "$instant is not after now: the clock is only moved forward" >&2
    exit 2
  fi
  offset="+$seconds"
  seen=$(FAKETIME="$offset" LD_PRELOAD="$library" date -u +%Y-%m-%d)
  expected=$(date -u -d "$instant" +%Y-%m-%d)
  if [ "$seen" != "$expected" ]; then
    echo "libfaketime did not move the clock: expected $expected, saw $seen" >&2
    exit 1
  fi
  echo "== tests with the clock at $instant, TZ=$zone"
  FLATPEAK_TEST_POSTGRES=local FLATPEAK_TEST_CLOCK="$(date -u -d "$instant" +%Y-%m-%dT%H:%M:%SZ)" \
    TZ="$zone" FAKETIME="$offset" LD_PRELOAD="$library" dotnet test --no-build
done
