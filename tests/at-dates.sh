#!/usr/bin/env bash
# Runs the built test suite again with the clock of every process it starts (test host, service, PostgreSQL) moved to
# chosen instants, so that no test can depend on today's date, time or zone. libfaketime's offset mode shifts the real
# clock (which keeps running) by the same amount in every process, so they all agree. The runs: one that crosses a
# year's end a few seconds in; one on a leap day; one in a zone 12:45 ahead of UTC in September (Pacific/Chatham), at an
# hour when its date is already the next day's. FLATPEAK_TEST_CLOCK tells the suite where the clock was put, and a test
# checks that the service and PostgreSQL see it. Usage, after a build: tests/at-dates.sh ["<instant>|<zone>" ...].
set -euo pipefail
cd "$(dirname "$0")/.."

library=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n1 || true)
if [ -z "$library" ]; then
  echo "libfaketime is missing: apt-get install faketime" >&2
  exit 1
fi

runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=("2027-12-31 23:59:50Z|UTC" "2028-02-29 12:00:00Z|UTC" "2030-09-09 12:00:00Z|Pacific/Chatham")

for run in "${runs[@]}"; do
  instant=${run%%|*}
  zone=${run#*|}
  [ "$zone" != "$run" ] || zone=UTC
  # Signed either way (an instant may be in the past): libfaketime reads "+N" and "-N" seconds.
  printf -v offset '%+d' $(( $(date -u -d "$instant" +%s) - $(date -u +%s) ))
  seen=$(FAKETIME="$offset" LD_PRELOAD="$library" date -u +%Y-%m-%d)
  expected=$(date -u -d "$instant" +%Y-%m-%d)
  if [ "$seen" != "$expected" ]; then
    echo "libfaketime did not move the clock: expected $expected, saw $seen" >&2
    exit 1
  fi
  echo "== tests with the clock at $instant, TZ=$zone"
  FLATPEAK_TEST_CLOCK="$(date -u -d "$instant" +%Y-%m-%dT%H:%M:%SZ)" TZ="$zone" FAKETIME="$offset" LD_PRELOAD="$library" dotnet test --no-build
done
