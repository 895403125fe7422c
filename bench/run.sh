#!/usr/bin/env bash
# Benchmark of POST /devices against the database's own ceiling, on this machine. One command: bench/run.sh
#   DURATION=20 WARMUP=10 CONNECTIONS="8 32 64" PGBENCH_CLIENTS="8 16 32" bench/run.sh
# Builds the service in Release, starts a throwaway PostgreSQL (durable commits: synchronous_commit on) and the
# service against it, makes an account, a location and a token, loads POST /devices with wrk, measures the
# pgbench ceiling of the same database work, and prints one summary line per connection count.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-30}
CONNECTIONS=${CONNECTIONS:-"8 32 64"}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-"8 16 32"}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-15}

[ "$(id -u)" = 0 ] && sudo="" || sudo="sudo"
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || command -v pgbench >/dev/null 2>&1 || need+=(postgresql postgresql-contrib)
if [ ${#need[@]} -gt 0 ]; then
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
pg_bin=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

work=$(mktemp -d /tmp/flatpeak-bench.XXXXXX)
chmod 755 "$work"
service_pid=""
cleanup() {
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  scripts/throwaway-postgres.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
connection=$(scripts/throwaway-postgres.sh start "$work/pg" "$pg_port" synchronous_commit=on)
echo "== building (Release)" >&2
dotnet publish src/Flatpeak.Devices.Api -c Release -o "$work/app" --nologo -v quiet >&2

export ConnectionStrings__Postgres="$connection"
export Auth__SigningKey=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
export ASPNETCORE_ENVIRONMENT=Production
# The bench measures the service, not the rate limiter: a bucket no run can empty.
export RateLimiting__TokenLimit=100000000 RateLimiting__TokensPerPeriod=100000000

account=$(cd "$work/app" && dotnet Flatpeak.Devices.Api.dll accounts create --name Bench 2>"$work/account.log")
account_id=$(echo "$account" | sed -E 's/.*"account_id":"([^"]+)".*/\1/')
test_key=$(echo "$account" | sed -E 's/.*"test_key":"([^"]+)".*/\1/')

# From its own folder, so that its appsettings.json (log levels among them) applies.
(cd "$work/app" && exec dotnet Flatpeak.Devices.Api.dll --urls "http://127.0.0.1:$api_port") >"$work/service.log" 2>&1 &
service_pid=$!
url="http://127.0.0.1:$api_port"
for _ in $(seq 1 120); do curl -fs "$url/readyz" >/dev/null 2>&1 && break; sleep 0.5; done

export BENCH_TOKEN=$(curl -fs -u "$account_id:$test_key" "$url/login" | sed -E 's/.*"bearer_token":"([^"]+)".*/\1/')
export BENCH_LOCATION=$(curl -fs -X POST "$url/locations" -H "Authorization: Bearer $BENCH_TOKEN" -H 'Content-Type: application/json' -d '{}' \
  | sed -E 's/.*"id":"(loc_[0-9a-f]+)".*/\1/')

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'), synchronous_commit=on" >&2
echo "== warm-up ${WARMUP}s" >&2
wrk -t2 -c32 -d"${WARMUP}s" -s bench/post-device.lua "$url/devices" >/dev/null

declare -A results
for c in $CONNECTIONS; do
  echo "== wrk ${c} connections, ${DURATION}s" >&2
  line=$(wrk -t2 -c"$c" -d"${DURATION}s" --latency -s bench/post-device.lua "$url/devices" | grep '^RESULT')
  results[$c]="$line"
  echo "$line" >&2
done
peak_rss_mb=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$service_pid/status")

echo "== pgbench ceiling (-M prepared, ${PGBENCH_SECONDS}s per client count)" >&2
ceiling=0
for clients in $PGBENCH_CLIENTS; do
  tps=$("$pg_bin/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$clients" -j 2 -T "$PGBENCH_SECONDS" \
        -D account="$account_id" -D location="$BENCH_LOCATION" -f bench/ceiling.sql postgres 2>/dev/null \
        | awk '/^tps = / {print $3; exit}')
  echo "pgbench clients=$clients tps=$tps" >&2
  ceiling=$(awk -v a="$ceiling" -v b="$tps" 'BEGIN {print (b > a) ? b : a}')
done

design=0
for clients in $PGBENCH_CLIENTS; do
  tps=$("$pg_bin/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$clients" -j 2 -T "$PGBENCH_SECONDS" \
        -D account="$account_id" -D location="$BENCH_LOCATION" -f bench/design-ceiling.sql postgres 2>/dev/null \
        | awk '/^tps = / {print $3; exit}')
  echo "pgbench (design: device + event in one transaction) clients=$clients tps=$tps" >&2
  design=$(awk -v a="$design" -v b="$tps" 'BEGIN {print (b > a) ? b : a}')
done

echo
echo "design ceiling (location check + device + event, one transaction) = $design tps = $(awk -v d="$design" -v c="$ceiling" 'BEGIN {printf "%.2f", d / c}') x ceiling"
echo "POST /devices on $(nproc) cores (wrk, service and PostgreSQL on one machine); ceiling = best pgbench tps = $ceiling; service peak RSS = ${peak_rss_mb} MB"
for c in $CONNECTIONS; do
  line=${results[$c]}
  get() { echo "$line" | sed -E "s/.* $1=([^ ]+).*/\1/"; }
  rps=$(get rps)
  printf 'connections=%-3s rps=%-8s p50_ms=%-7s p99_ms=%-7s errors=%-4s non201=%-4s peak_rss_mb=%-5s ratio=%.2f\n' \
    "$c" "$rps" "$(get p50_ms)" "$(get p99_ms)" "$(get errors)" "$(get non201)" "$peak_rss_mb" "$(awk -v r="$rps" -v c="$ceiling" 'BEGIN {print r / c}')"
done
