#!/usr/bin/env bash
# Benchmark of POST /devices against the database's own ceiling, on this machine. One command: bench/run.sh
#   DURATION=20 WARMUP=30 CONNECTIONS="8 32 64" WEBHOOK_CONNECTIONS="8 32" PGBENCH_CLIENTS="8 16 32" SEED_DEVICES=1000000 bench/run.sh
# Builds the service in Release, starts a throwaway PostgreSQL (durable commits: synchronous_commit on) and the
# service against it, makes an account, a location and a token, warms up (tiered JIT), loads POST /devices with wrk
# at each connection count, measures the floor of the stack (bench/floor: the statement as pgbench runs it, behind
# nothing but the same framework pieces) at 32 connections, measures the pgbench ceiling of the same database work, then seeds SEED_DEVICES devices
# (each with its event) and measures POST /devices and GET /devices?limit=100 again. For every run it prints
# requests/s, latency, errors, and the CPU time per request of the service process and of PostgreSQL (all its
# processes), read from /proc.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-30}
CONNECTIONS=${CONNECTIONS:-"8 32 64"}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-"8 16 32"}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-15}
WEBHOOK_CONNECTIONS=${WEBHOOK_CONNECTIONS:-"8 32"}
SEED_DEVICES=${SEED_DEVICES:-1000000}
# The parts to run (all by default); e.g. PHASES="pgbench batching" for the batching comparison alone.
PHASES=${PHASES:-"idle main floor webhooks delivery pgbench seed batching states"}
BATCHING_CONNECTIONS=${BATCHING_CONNECTIONS:-"1 8 32 64"}
BATCHING_ROUNDS=${BATCHING_ROUNDS:-2}
has() { [[ " $PHASES " == *" $1 "* ]]; }

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
service_pid="" receiver_pid="" floor_pid="" second_pid="" holder_pid=""
cleanup() {
  [ -n "$receiver_pid" ] && { kill "$receiver_pid" 2>/dev/null || true; }
  [ -n "$holder_pid" ] && { kill "$holder_pid" 2>/dev/null || true; }
  [ -n "$second_pid" ] && { kill "$second_pid" 2>/dev/null || true; }
  [ -n "$floor_pid" ] && { kill "$floor_pid" 2>/dev/null || true; }
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  # The service log of the last run, for a look after the fact.
  [ -f "$work/service.log" ] && cp "$work/service.log" /tmp/bench-service.log
  scripts/throwaway-postgres.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Commit timestamps: the webhook run measures delivery lag from each event's commit.
# PG_SETTINGS: more postgres -c settings, e.g. PG_SETTINGS="shared_buffers=2GB" (the default is PostgreSQL's 128MB).
[ "${STATEMENTS:-0}" = 1 ] && PG_SETTINGS="${PG_SETTINGS:-} shared_preload_libraries=pg_stat_statements pg_stat_statements.track_planning=on"
# shellcheck disable=SC2086
connection=$(scripts/throwaway-postgres.sh start "$work/pg" "$pg_port" synchronous_commit=on track_commit_timestamp=on ${PG_SETTINGS:-})
[ "${STATEMENTS:-0}" = 1 ] && "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qAtX -c "CREATE EXTENSION pg_stat_statements"
psql_cmd=("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1)
echo "== building (Release)" >&2
dotnet publish src/Flatpeak.Devices.Api -c Release -o "$work/app" --nologo -v quiet >&2
dotnet publish bench/floor -c Release -o "$work/floor" --nologo -v quiet >&2

export ConnectionStrings__Postgres="$connection"
export Auth__SigningKey=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
export ASPNETCORE_ENVIRONMENT=Production
# The bench measures the service, not the rate limiter: a bucket no run can empty.
export RateLimiting__TokenLimit=100000000 RateLimiting__TokensPerPeriod=100000000
# The webhook run's receiver listens on loopback.
export Webhooks__AllowPrivateNetworks=true

account=$(cd "$work/app" && dotnet Flatpeak.Devices.Api.dll accounts create --name Bench 2>"$work/account.log")
account_id=$(echo "$account" | sed -E 's/.*"account_id":"([^"]+)".*/\1/')
test_key=$(echo "$account" | sed -E 's/.*"test_key":"([^"]+)".*/\1/')

# From its own folder, so that its appsettings.json (log levels among them) applies, with its runtime environment.
(cd "$work/app" && set -a && . ./service.env && set +a && exec dotnet Flatpeak.Devices.Api.dll --urls "http://127.0.0.1:$api_port") >"$work/service.log" 2>&1 &
service_pid=$!
url="http://127.0.0.1:$api_port"
for _ in $(seq 1 120); do curl -fs "$url/readyz" >/dev/null 2>&1 && break; sleep 0.5; done

export BENCH_TOKEN=$(curl -fs -u "$account_id:$test_key" "$url/login" | sed -E 's/.*"bearer_token":"([^"]+)".*/\1/')
export BENCH_LOCATION=$(curl -fs -X POST "$url/locations" -H "Authorization: Bearer $BENCH_TOKEN" -H 'Content-Type: application/json' -d '{}' \
  | sed -E 's/.*"id":"(loc_[0-9a-f]+)".*/\1/')

# CPU time in clock ticks: the service process; PostgreSQL = the postmaster with its ended children, plus every live one.
clk_tck=$(getconf CLK_TCK)
# measured_pid and measured_url name another process under test (the floor); the service otherwise.
service_ticks() { awk '{print $14 + $15}' "/proc/${measured_pid:-$service_pid}/stat"; }
postgres_ticks() {
  local master total child
  master=$(head -n 1 "$work/pg/data/postmaster.pid")
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$master/stat")
  for child in $(cat /proc/"$master"/task/*/children); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$child/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# One wrk run; prints its RESULT line with the CPU µs per request of each side appended.
measure() {
  local connections=$1 script=$2 path=$3 s0 p0 line requests s1 p1
  s0=$(service_ticks); p0=$(postgres_ticks)
  line=$(wrk -t"$(( connections < 2 ? 1 : 2 ))" -c"$connections" -d"${DURATION}s" --latency -s "$script" "${measured_url:-$url}$path" | grep '^RESULT')
  s1=$(service_ticks); p1=$(postgres_ticks)
  requests=$(echo "$line" | sed -E 's/.* requests=([0-9]+).*/\1/')
  echo "$line service_cpu_us=$(awk -v d=$((s1 - s0)) -v r="$requests" -v t="$clk_tck" 'BEGIN {printf "%.0f", d * 1e6 / t / r}')" \
    "postgres_cpu_us=$(awk -v d=$((p1 - p0)) -v r="$requests" -v t="$clk_tck" 'BEGIN {printf "%.0f", d * 1e6 / t / r}')"
}

# One hey run holding $2 requests/s over $1 connections for DURATION: a RESULT line like wrk's, with the CPU µs per request.
hey_measure() {
  local connections=$1 rate=$2 body_file="$work/device.json" s0 p0 out s1 p1 requests seconds
  # The body of bench/post-device.lua.
  sed -n '/^wrk.body = \[\[/,/^}\]\]/p' bench/post-device.lua \
    | sed -e '1s/^wrk.body = \[\[//' -e '$s/\]\]$//' -e "s/\]\] .. location .. \[\[/$BENCH_LOCATION/" >"$body_file"
  s0=$(service_ticks); p0=$(postgres_ticks)
  out=$(hey -z "${DURATION}s" -c "$connections" -q "$(awk -v r="$rate" -v c="$connections" 'BEGIN {printf "%.2f", r / c}')" -m POST \
    -H "Authorization: Bearer $BENCH_TOKEN" -T application/json -D "$body_file" "$url/devices")
  s1=$(service_ticks); p1=$(postgres_ticks)
  requests=$(echo "$out" | awk '/\[201\]/ {print $2}')
  seconds=$(echo "$out" | awk '/Total:/ {print $2; exit}')
  echo "RESULT requests=$requests rps=$(echo "$out" | awk '/Requests\/sec:/ {print $2}') offered=$rate" \
    "p50_ms=$(echo "$out" | awk '/ 50% in / {printf "%.2f", $3 * 1000}') p99_ms=$(echo "$out" | awk '/ 99% in / {printf "%.2f", $3 * 1000}')" \
    "errors=$(echo "$out" | awk '/^Error distribution:/ {e = 1; next} e && /^  \[[0-9]+\]/ {n += substr($1, 2) + 0} END {print n + 0}')" \
    "non201=$(echo "$out" | awk '/^Status code distribution:/ {c = 1; next} /^$/ {c = 0} c && /^  \[[0-9]+\]/ && !/\[201\]/ {n += $2} END {print n + 0}')" \
    "seconds=$seconds" \
    "service_cpu_us=$(awk -v d=$((s1 - s0)) -v r="$requests" -v t="$clk_tck" 'BEGIN {printf "%.0f", d * 1e6 / t / r}')" \
    "postgres_cpu_us=$(awk -v d=$((p1 - p0)) -v r="$requests" -v t="$clk_tck" 'BEGIN {printf "%.0f", d * 1e6 / t / r}')"
}

# STATEMENTS=1: PostgreSQL's ten costliest statements (pg_stat_statements) since the last call, under the heading $1;
# without a heading, only the count starts again.
statements_top() {
  [ "${STATEMENTS:-0}" = 1 ] || return 0
  if [ -n "${1:-}" ]; then
    echo "== the ten costliest statements: $1 (pg_stat_statements: calls | planning ms | executing ms | mean µs executing | rows | statement)" >&2
    "${psql_cmd[@]}" -F ' | ' -c "SELECT calls, round(total_plan_time)::bigint, round(total_exec_time)::bigint, round((total_exec_time / nullif(calls, 0) * 1000)::numeric), rows,
                                         regexp_replace(left(query, 100), '\s+', ' ', 'g')
                                  FROM pg_stat_statements ORDER BY total_plan_time + total_exec_time DESC LIMIT 10" >&2
  fi
  "${psql_cmd[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'), synchronous_commit=on, shared_buffers=$("${psql_cmd[@]}" -c 'SHOW shared_buffers')" >&2
echo "== warm-up ${WARMUP}s (tiered JIT)" >&2
wrk -t2 -c32 -d"${WARMUP}s" -s bench/post-device.lua "$url/devices" >/dev/null

# Idle: the CPU an instance and PostgreSQL spend in 30 s with no requests, warmed up and 10 s after its last request:
# the service as configured (the feed and the queue woken by commits, polled every 5 s), then a second instance on the
# same database polling every 0.2 s as before, the first idle beside it.
idle_line=""
if has idle; then
  sleep 10
  idle_ticks() { local s0 p0; s0=$(service_ticks); p0=$(postgres_ticks); sleep 30; echo "$(( $(service_ticks) - s0 )) $(( $(postgres_ticks) - p0 ))"; }
  read -r idle_service idle_pg <<<"$(idle_ticks)"
  polling_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  (cd "$work/app" && set -a && . ./service.env && set +a && Webhooks__PollSeconds=0.2 exec dotnet Flatpeak.Devices.Api.dll --urls "http://127.0.0.1:$polling_port") >"$work/polling.log" 2>&1 &
  second_pid=$!
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$polling_port/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
  wrk -t2 -c32 -d"${WARMUP}s" -s bench/post-device.lua "http://127.0.0.1:$polling_port/devices" >/dev/null
  sleep 10
  read -r polled_service polled_pg <<<"$(measured_pid=$second_pid idle_ticks)"
  kill "$second_pid" 2>/dev/null || true; wait "$second_pid" 2>/dev/null || true; second_pid=""
  # The second instance was measured with the first one idle beside it: PostgreSQL's ticks are both instances'.
  idle_line=$(awk -v a="$idle_service" -v b="$idle_pg" -v c="$polled_service" -v d="$polled_pg" -v t="$clk_tck" \
    'BEGIN {printf "idle 30 s: service %d ticks (%.2f %% of a core), PostgreSQL %d ticks; polling every 0.2 s: service %d ticks (%.2f %%), PostgreSQL %d ticks", a, a / t / 30 * 100, b, c, c / t / 30 * 100, d}')
  echo "$idle_line" >&2
fi


declare -A results
has main && for c in $CONNECTIONS; do
  echo "== POST /devices, wrk ${c} connections, ${DURATION}s" >&2
  results[$c]=$(measure "$c" bench/post-device.lua /devices)
  echo "${results[$c]}" >&2
done

floor=""
if has floor; then
# The floor: bench/floor serves POST /devices with the same framework pieces and the statement as pgbench runs it
# (design-ceiling.sql: values, ids and the event's JSON made in SQL) and nothing else; it checks the same token and runs with the service's runtime environment
# (service.env) and GC. The service stays up, idle.
floor_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
statement="$PWD/bench/design-ceiling.sql"
(cd "$work/floor" && set -a && . "$work/app/service.env" && set +a && Floor__Statement="$statement" exec dotnet Floor.dll --urls "http://127.0.0.1:$floor_port") >"$work/floor.log" 2>&1 &
floor_pid=$!
for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://127.0.0.1:$floor_port/devices" && break
  kill -0 "$floor_pid" 2>/dev/null || { echo "The floor did not start:" >&2; cat "$work/floor.log" >&2; exit 1; }
  sleep 0.5
done
echo "== the floor (bench/floor): warm-up ${WARMUP}s, then POST /devices, wrk 32 connections, ${DURATION}s" >&2
wrk -t2 -c32 -d"${WARMUP}s" -s bench/post-device.lua "http://127.0.0.1:$floor_port/devices" >/dev/null
floor=$(measured_pid=$floor_pid measured_url="http://127.0.0.1:$floor_port" measure 32 bench/post-device.lua /devices)
echo "$floor" >&2
kill "$floor_pid" 2>/dev/null || true; wait "$floor_pid" 2>/dev/null || true; floor_pid=""

fi

# A webhook receiver (bench/receiver.js) on a free port: sets receiver_port and receiver_pid.
start_receiver() {
  command -v node >/dev/null 2>&1 || { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs >/dev/null; }
  receiver_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  node bench/receiver.js "$receiver_port" &
  receiver_pid=$!
}

# An endpoint of the bench's account at the receiver, subscribed to device.create: prints its id.
create_endpoint() {
  curl -fs -X POST "$url/webhooks" -H "Authorization: Bearer $BENCH_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$receiver_port/hook\",\"enabled_events\":[\"device.create\"]}" | sed -E 's/.*"id":"(whe_[0-9a-f]+)".*/\1/'
}

# Whether any delivery is pending: t or f (from the queue's index; a count would cost PostgreSQL more than the deliveries).
pending() { "${psql_cmd[@]}" -c "SELECT EXISTS (SELECT FROM webhook_deliveries WHERE status = 'pending')"; }

# Delivery lag (commit of the event to the first attempt of its delivery) of one endpoint's deliveries of events
# written since $2 (all: -infinity), once none is pending: "count p50_ms p99_ms not_succeeded".
delivery_lag() {
  local webhook=$1 since=$2
  for _ in $(seq 1 240); do
    [ "$(pending)" = f ] && break
    sleep 0.5
  done
  "${psql_cmd[@]}" -c "
    SELECT count(*) || ' ' || coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l) * 1000)::numeric, 1), 0) || ' '
           || coalesce(round((percentile_cont(0.99) WITHIN GROUP (ORDER BY l) * 1000)::numeric, 1), 0) || ' '
           || count(*) FILTER (WHERE status <> 'succeeded')
    FROM (SELECT d.status, extract(epoch FROM d.first_attempt_at - pg_xact_commit_timestamp((e.xact_id % 4294967296)::text::xid)) AS l
          FROM webhook_deliveries d JOIN events e ON e.account_id = d.account_id AND e.live_mode = d.live_mode AND e.id = d.event_id
          WHERE d.webhook_id = '$webhook' AND e.written_at >= '$since') t"
}

declare -A unhooked hooked lags
if has webhooks; then
# The same load with one endpoint subscribed to device.create (bench/receiver.js answering 200), right after the
# same load without it, and the delivery lag: from each event's commit to the first attempt of its delivery.
start_receiver
for c in $WEBHOOK_CONNECTIONS; do
  echo "== POST /devices, $c connections, ${DURATION}s, without a webhook endpoint, then with one" >&2
  unhooked[$c]=$(measure "$c" bench/post-device.lua /devices)
  echo "${unhooked[$c]}" >&2
  webhook_id=$(create_endpoint)
  hooked[$c]=$(measure "$c" bench/post-device.lua /devices)
  echo "${hooked[$c]}" >&2
  lags[$c]=$(delivery_lag "$webhook_id" -infinity)
  echo "deliveries, lag p50 ms, lag p99 ms, not succeeded: ${lags[$c]}" >&2
  curl -fs -X DELETE "$url/webhooks/$webhook_id" -H "Authorization: Bearer $BENCH_TOKEN" >/dev/null
done
kill "$receiver_pid" 2>/dev/null; receiver_pid=""

fi

# Delivery (issue 21's targets), one endpoint subscribed to device.create and answering 200 at once (bench/receiver.js):
# - the maximum: POST /devices at 8 connections for DURATION, no endpoint; then hey holding half that rate at 8
#   connections, still without an endpoint (the CPU per request that delivery adds to);
# - without load: 200 POST /devices one at a time, 20 ms apart: the lag from commit to first attempt;
# - at half the maximum: hey holding that rate with the endpoint: requests/s against the offered rate, the lag, and the
#   CPU per delivery (per request, less the same rate's without an endpoint);
# - at full load: wrk at 8 connections for DURATION with the endpoint: the lag;
# - the drain: the same load while a transaction holds the feed back (as a stuck feed would), then released: deliveries
#   per second until every event is delivered and recorded, and the CPU per delivery while nothing else runs.
delivery_quiet="" delivery_max="" delivery_bare="" delivery_half="" delivery_half_lag="" delivery_full="" delivery_full_lag="" delivery_drain=""
if has delivery; then
  command -v hey >/dev/null 2>&1 || { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq hey >/dev/null; }
  start_receiver
  received() { curl -fs "http://127.0.0.1:$receiver_port/count"; }
  echo "== POST /devices at 8 connections, ${DURATION}s, no endpoint: the maximum" >&2
  delivery_max=$(measure 8 bench/post-device.lua /devices)
  echo "$delivery_max" >&2
  max_rps=$(echo "$delivery_max" | sed -E 's/.* rps=([^ ]+).*/\1/')
  offered=$(awk -v r="$max_rps" 'BEGIN {printf "%d", r / 2}')
  echo "== POST /devices at ${offered}/s (half of ${max_rps}/s), hey at 8 connections, ${DURATION}s, no endpoint" >&2
  delivery_bare=$(hey_measure 8 "$offered")
  echo "$delivery_bare" >&2
  webhook_id=$(create_endpoint)
  body=$(printf '{"reference_id":"QUIET","type":"BATTERY_SYSTEM","locations":["%s"]}' "$BENCH_LOCATION")
  since=$("${psql_cmd[@]}" -c "SELECT now()")
  echo "== 200 POST /devices one at a time, 20 ms apart, one endpoint" >&2
  for _ in $(seq 1 200); do
    curl -fs -o /dev/null -X POST "$url/devices" -H "Authorization: Bearer $BENCH_TOKEN" -H 'Content-Type: application/json' -d "$body"
    sleep 0.02
  done
  delivery_quiet=$(delivery_lag "$webhook_id" "$since")
  echo "deliveries, lag p50 ms, p99 ms, not succeeded: $delivery_quiet" >&2
  since=$("${psql_cmd[@]}" -c "SELECT now()")
  statements_top
  echo "== POST /devices at ${offered}/s, hey at 8 connections, ${DURATION}s, one endpoint" >&2
  delivery_half=$(hey_measure 8 "$offered")
  echo "$delivery_half" >&2
  delivery_half_lag=$(delivery_lag "$webhook_id" "$since")
  echo "deliveries, lag p50 ms, p99 ms, not succeeded: $delivery_half_lag" >&2
  statements_top "half the maximum, and its deliveries"
  since=$("${psql_cmd[@]}" -c "SELECT now()")
  echo "== POST /devices at 8 connections, ${DURATION}s, one endpoint" >&2
  delivery_full=$(measure 8 bench/post-device.lua /devices)
  echo "$delivery_full" >&2
  delivery_full_lag=$(delivery_lag "$webhook_id" "$since")
  echo "deliveries, lag p50 ms, p99 ms, not succeeded: $delivery_full_lag" >&2
  echo "== the same load while a transaction holds the feed back, then the drain" >&2
  statements_top
  before=$(received)
  since=$("${psql_cmd[@]}" -c "SELECT now()")
  "${psql_cmd[@]}" -c "BEGIN; SELECT pg_current_xact_id(); SELECT pg_sleep($DURATION + 1); COMMIT;" >/dev/null &
  holder_pid=$!
  sleep 0.5
  measure 8 bench/post-device.lua /devices >/dev/null
  events=$("${psql_cmd[@]}" -c "SELECT count(*) FROM events WHERE type = 'device.create' AND written_at >= '$since'")
  wait "$holder_pid"
  holder_pid=""
  s0=$(service_ticks); p0=$(postgres_ticks); t0=$(date +%s.%N)
  for _ in $(seq 1 3000); do [ "$(( $(received) - before ))" -ge "$events" ] && break; sleep 0.1; done
  for _ in $(seq 1 100); do [ "$(pending)" = f ] && break; sleep 0.1; done
  t1=$(date +%s.%N); s1=$(service_ticks); p1=$(postgres_ticks)
  delivered=$(( $(received) - before ))
  delivery_drain=$(awk -v n="$delivered" -v e="$events" -v t0="$t0" -v t1="$t1" -v s="$((s1 - s0))" -v p="$((p1 - p0))" -v k="$clk_tck" \
    'BEGIN {d = t1 - t0; printf "events=%d delivered=%d seconds=%.1f per_second=%.0f service_cpu_us=%.0f postgres_cpu_us=%.0f", e, n, d, (d > 0 ? n / d : 0), (n > 0 ? s * 1e6 / k / n : 0), (n > 0 ? p * 1e6 / k / n : 0)}')
  echo "drain: $delivery_drain" >&2
  statements_top "the load with the feed held back, and the drain"
  curl -fs -X DELETE "$url/webhooks/$webhook_id" -H "Authorization: Bearer $BENCH_TOKEN" >/dev/null
  kill "$receiver_pid" 2>/dev/null; receiver_pid=""
fi

pgbench_best() {
  local file=$1 best=0 tps clients
  for clients in $PGBENCH_CLIENTS; do
    tps=$("$pg_bin/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c "$clients" -j 2 -T "$PGBENCH_SECONDS" \
          -D account="$account_id" -D location="$BENCH_LOCATION" -f "$file" postgres 2>/dev/null \
          | awk '/^tps = / {print $3; exit}')
    echo "pgbench $file clients=$clients tps=$tps" >&2
    best=$(awk -v a="$best" -v b="$tps" 'BEGIN {print (b > a) ? b : a}')
  done
  echo "$best"
}
ceiling=0 design=0 design_fk=0
if has pgbench; then
echo "== pgbench (-M prepared, ${PGBENCH_SECONDS}s per client count)" >&2
ceiling=$(pgbench_best bench/ceiling.sql)
design=$(pgbench_best bench/design-ceiling.sql)
# Evidence for the schema's choice: the same statement with foreign keys from devices and events to accounts.
"${psql_cmd[@]}" -c "ALTER TABLE devices ADD CONSTRAINT bench_fk_devices FOREIGN KEY (account_id) REFERENCES accounts (id);
                     ALTER TABLE events ADD CONSTRAINT bench_fk_events FOREIGN KEY (account_id) REFERENCES accounts (id);"
design_fk=$(pgbench_best bench/design-ceiling.sql)
"${psql_cmd[@]}" -c "ALTER TABLE devices DROP CONSTRAINT bench_fk_devices; ALTER TABLE events DROP CONSTRAINT bench_fk_events;"

fi

seeded_post="" seeded_get="" seeded_location="" location_bytes=0 devices_now=0
if has seed && [ "$SEED_DEVICES" -gt 0 ]; then
echo "== seeding $SEED_DEVICES devices, each with its event" >&2
# Seeded ids: dev_ + this prefix (a day ago, in 8 hex digits) + the number in 16 (the states phase submits to them).
export BENCH_SEED_PREFIX=$(printf '%08x' $(( $(date +%s) - 86400 )))
"${psql_cmd[@]}" <<SQL
INSERT INTO devices (account_id, live_mode, id, reference_id, type, locations, time_created)
SELECT '$account_id', false, 'dev_$BENCH_SEED_PREFIX' || lpad(to_hex(i), 16, '0'),
       'SEED-' || i, 'OTHER', ARRAY['$BENCH_LOCATION'], now() - interval '1 day'
FROM generate_series(1, $SEED_DEVICES) AS i;
-- From the devices just stored (each statement has its own now()): the location index and a device.create event each.
INSERT INTO device_locations (account_id, live_mode, location_id, device_id)
SELECT account_id, live_mode, '$BENCH_LOCATION', id FROM devices WHERE account_id = '$account_id' AND reference_id LIKE 'SEED-%';
INSERT INTO events (account_id, live_mode, id, type, object_id, data, time_created)
SELECT account_id, live_mode, 'evt_' || substr(id, 5), 'device.create', id, '{}', time_created
FROM devices WHERE account_id = '$account_id' AND reference_id LIKE 'SEED-%';
VACUUM ANALYZE devices;
VACUUM ANALYZE device_locations;
VACUUM ANALYZE events;
CHECKPOINT;
SQL
# The caches have changed: warm up again before measuring.
wrk -t2 -c32 -d10s -s bench/post-device.lua "$url/devices" >/dev/null
devices_now=$("${psql_cmd[@]}" -c "SELECT count(*) FROM devices")
echo "== POST /devices at 32 connections with $devices_now devices" >&2
seeded_post=$(measure 32 bench/post-device.lua /devices)
echo "$seeded_post" >&2
echo "== GET /devices?limit=100 at 32 connections with $devices_now devices" >&2
seeded_get=$(measure 32 bench/get-devices.lua "/devices?limit=100")
echo "$seeded_get" >&2
at_location=$("${psql_cmd[@]}" -c "SELECT count(*) FROM device_locations WHERE location_id = '$BENCH_LOCATION'")
echo "== GET /locations/{id} at 32 connections, a location of $at_location devices (embeds the 100 newest)" >&2
seeded_location=$(BENCH_GET_PATH="/locations/$BENCH_LOCATION" measure 32 bench/get-devices.lua "/locations/$BENCH_LOCATION")
location_bytes=$(curl -fs -H "Authorization: Bearer $BENCH_TOKEN" "$url/locations/$BENCH_LOCATION" | wc -c)
echo "$seeded_location bytes=$location_bytes" >&2
fi
# Natural batching on and off, interleaved in one run: a second instance with Writes__Batching=false on the same
# database, each measured in turn at every connection count, BATCHING_ROUNDS times, the other idle meanwhile.
declare -A batched unbatched
if has batching; then
  unbatched_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  (cd "$work/app" && set -a && . ./service.env && set +a && Writes__Batching=false exec dotnet Flatpeak.Devices.Api.dll --urls "http://127.0.0.1:$unbatched_port") >"$work/unbatched.log" 2>&1 &
  second_pid=$!
  unbatched_url="http://127.0.0.1:$unbatched_port"
  for _ in $(seq 1 120); do curl -fs "$unbatched_url/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
  echo "== batching on and off: warm-up ${WARMUP}s each" >&2
  wrk -t2 -c32 -d"${WARMUP}s" -s bench/post-device.lua "$url/devices" >/dev/null
  wrk -t2 -c32 -d"${WARMUP}s" -s bench/post-device.lua "$unbatched_url/devices" >/dev/null
  for round in $(seq 1 "$BATCHING_ROUNDS"); do
    for c in $BATCHING_CONNECTIONS; do
      echo "== round $round, POST /devices, $c connections, ${DURATION}s: batching on, then off" >&2
      batched[$round.$c]=$(measure "$c" bench/post-device.lua /devices)
      echo "${batched[$round.$c]}" >&2
      unbatched[$round.$c]=$(measured_pid=$second_pid measured_url=$unbatched_url measure "$c" bench/post-device.lua /devices)
      echo "${unbatched[$round.$c]}" >&2
    done
  done
  kill "$second_pid" 2>/dev/null || true; wait "$second_pid" 2>/dev/null || true; second_pid=""
fi

# Device state: BENCH_STATE_DEVICES devices, PUT /devices/{id}/state of random ones at 32 connections (after a warm-up),
# POST /devices right after for the ratio, the bytes a stored record takes (table and indexes), then a device with
# 100,000 records (a year of 5-minute reports) and GET /devices/{id}/states?limit=100 at 8 connections.
state_put="" state_post="" state_get="" state_bytes="" state_rows=0
declare -A state_small state_large
if has states; then
  export BENCH_STATE_DEVICES=${BENCH_STATE_DEVICES:-10000}
  "${psql_cmd[@]}" <<SQL
INSERT INTO devices (account_id, live_mode, id, reference_id, type, locations, time_created)
SELECT '$account_id', false, 'dev_' || lpad(to_hex(i), 24, '0'), 'STATE-' || i, 'BATTERY_SYSTEM', ARRAY['$BENCH_LOCATION'], now()
FROM generate_series(1, $BENCH_STATE_DEVICES) AS i ON CONFLICT DO NOTHING;
INSERT INTO device_locations (account_id, live_mode, location_id, device_id)
SELECT '$account_id', false, '$BENCH_LOCATION', 'dev_' || lpad(to_hex(i), 24, '0') FROM generate_series(1, $BENCH_STATE_DEVICES) AS i ON CONFLICT DO NOTHING;
SQL
  echo "== PUT /devices/{id}/state, $BENCH_STATE_DEVICES devices: warm-up ${WARMUP}s, then 32 connections, ${DURATION}s; POST /devices after" >&2
  wrk -t2 -c32 -d"${WARMUP}s" -s bench/put-state.lua "$url" >/dev/null
  state_put=$(measure 32 bench/put-state.lua "")
  echo "$state_put" >&2
  state_post=$(measure 32 bench/post-device.lua /devices)
  echo "$state_post" >&2
  "${psql_cmd[@]}" -c "VACUUM ANALYZE device_states" >/dev/null
  state_rows=$("${psql_cmd[@]}" -c "SELECT count(*) FROM device_states")
  state_bytes=$("${psql_cmd[@]}" -c "SELECT round((SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i WHERE i.inhparent = 'device_states'::regclass) / $state_rows::numeric)")
  "${psql_cmd[@]}" <<SQL
INSERT INTO device_states (account_id, live_mode, device_id, time, id, state_of_charge_percent, target_state_of_charge_percent, time_created)
SELECT '$account_id', false, 'dev_' || lpad(to_hex(1), 24, '0'), t,
       'dsr_' || lpad(to_hex(extract(epoch FROM t)::bigint), 8, '0') || lpad(to_hex(n), 16, '0'), 50, 80, now()
FROM generate_series(1, 100000) AS n, LATERAL (SELECT now() - n * interval '5 minutes' AS t) x;
VACUUM ANALYZE device_states;
SQL
  echo "== GET /devices/{id}/states?limit=100 of a device with 100,000 records, 8 connections, ${DURATION}s" >&2
  history_path="/devices/dev_$(printf '%024x' 1)/states?limit=100"
  state_get=$(BENCH_GET_PATH="$history_path" measure 8 bench/get-devices.lua "$history_path")
  echo "$state_get" >&2
  # At scale: with the seed's devices stored, one day of 5-minute records for 1,000 of them, then PUT to random ones of
  # the seed's devices and to the small set in turn, STATE_ROUNDS times: the two should be within 10 %.
  if has seed && [ "$SEED_DEVICES" -gt 0 ]; then
    echo "== one day of 5-minute states for 1,000 of the $SEED_DEVICES seeded devices" >&2
    "${psql_cmd[@]}" <<SQL
INSERT INTO device_states (account_id, live_mode, device_id, time, id, state_of_charge_percent, target_state_of_charge_percent, time_created)
SELECT '$account_id', false, 'dev_$BENCH_SEED_PREFIX' || lpad(to_hex(d * ($SEED_DEVICES / 1000)), 16, '0'), t,
       'dsr_' || lpad(to_hex(extract(epoch FROM t)::bigint), 8, '0') || lpad(to_hex(d * 1000 + n), 16, '0'), 50, 80, t
FROM generate_series(1, 1000) AS d, generate_series(1, 288) AS n, LATERAL (SELECT now() - n * interval '5 minutes' AS t) x;
VACUUM ANALYZE device_states;
SQL
    for round in $(seq 1 "${STATE_ROUNDS:-2}"); do
      echo "== round $round: PUT /devices/{id}/state at 32 connections, ${DURATION}s: $BENCH_STATE_DEVICES devices, then $SEED_DEVICES" >&2
      state_small[$round]=$(measure 32 bench/put-state.lua "")
      echo "${state_small[$round]}" >&2
      state_large[$round]=$(BENCH_STATE_DEVICES=$SEED_DEVICES BENCH_STATE_PREFIX=$BENCH_SEED_PREFIX measure 32 bench/put-state.lua "")
      echo "${state_large[$round]}" >&2
    done
  fi
fi

peak_rss_mb=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$service_pid/status")

get() { echo "$1" | sed -E "s/.* $2=([^ ]+).*/\1/"; }
row() {
  local label=$1 line=$2
  printf '%-34s rps=%-8s p50_ms=%-6s p99_ms=%-6s errors=%-3s non2xx=%-3s service_cpu_us=%-5s postgres_cpu_us=%-5s ratio=%.2f\n' \
    "$label" "$(get "$line" rps)" "$(get "$line" p50_ms)" "$(get "$line" p99_ms)" "$(get "$line" errors)" "$(get "$line" non201)" \
    "$(get "$line" service_cpu_us)" "$(get "$line" postgres_cpu_us)" "$(awk -v r="$(get "$line" rps)" -v c="$ceiling" 'BEGIN {print (c > 0 ? r / c : 0)}')"
}

echo
if has pgbench; then
  echo "ceiling.sql (location SELECT + device INSERT, autocommit) = $ceiling tps; design-ceiling.sql (the service's statement for one device, event included) = $design tps ($(awk -v d="$design" -v c="$ceiling" 'BEGIN {printf "%.2f", d / c}') x ceiling)"
  echo "design-ceiling.sql with foreign keys from devices and events to accounts = $design_fk tps"
fi
echo "$(nproc) cores, wrk + service + PostgreSQL on one machine; service peak RSS = ${peak_rss_mb} MB; ratio = requests/s / ceiling"
[ -n "$idle_line" ] && echo "$idle_line"
has main && for c in $CONNECTIONS; do
  row "POST /devices c=$c" "${results[$c]}"
done
[ -n "$floor" ] && row "floor (bench/floor) c=32" "$floor"
has webhooks && for c in $WEBHOOK_CONNECTIONS; do
  row "POST /devices c=$c, no webhook" "${unhooked[$c]}"
  row "POST /devices c=$c, 1 webhook" "${hooked[$c]}"
  read -r deliveries lag_p50 lag_p99 undelivered <<<"${lags[$c]}"
  echo "webhook c=$c: rps with ÷ without = $(awk -v a="$(get "${hooked[$c]}" rps)" -v b="$(get "${unhooked[$c]}" rps)" 'BEGIN {printf "%.2f", a / b}'); $deliveries deliveries, lag from commit to first attempt p50 = ${lag_p50} ms, p99 = ${lag_p99} ms, not succeeded = $undelivered"
done
if has delivery; then
  row "POST /devices c=8, no endpoint" "$delivery_max"
  row "POST /devices hey c=8 half, none" "$delivery_bare"
  row "POST /devices hey c=8 half, 1 endpoint" "$delivery_half"
  row "POST /devices c=8, 1 endpoint" "$delivery_full"
  read -r n p50 p99 bad <<<"$delivery_quiet"
  echo "delivery without load: $n deliveries, lag from commit p50 = $p50 ms, p99 = $p99 ms, not succeeded = $bad"
  read -r n p50 p99 bad <<<"$delivery_half_lag"
  echo "delivery at half the maximum ($(get "$delivery_half" offered)/s offered, $(get "$delivery_half" rps)/s served): $n deliveries, lag p50 = $p50 ms, p99 = $p99 ms, not succeeded = $bad;" \
    "CPU per delivery: service $(( $(get "$delivery_half" service_cpu_us) - $(get "$delivery_bare" service_cpu_us) )) µs, PostgreSQL $(( $(get "$delivery_half" postgres_cpu_us) - $(get "$delivery_bare" postgres_cpu_us) )) µs"
  read -r n p50 p99 bad <<<"$delivery_full_lag"
  echo "delivery at full load (c=8): $n deliveries, lag p50 = $p50 ms, p99 = $p99 ms, not succeeded = $bad"
  echo "drain after the feed was held back through a full-load run: $delivery_drain"
fi
if [ -n "$seeded_post" ]; then
  row "POST /devices c=32, $devices_now devices" "$seeded_post"
  row "GET /devices?limit=100 c=32" "$seeded_get"
  row "GET /locations/{id} c=32 ($location_bytes B)" "$seeded_location"
fi
if has batching; then
  for round in $(seq 1 "$BATCHING_ROUNDS"); do
    for c in $BATCHING_CONNECTIONS; do
      row "round $round c=$c batching on" "${batched[$round.$c]}"
      row "round $round c=$c batching off" "${unbatched[$round.$c]}"
    done
  done
fi
if has states; then
  row "PUT /devices/{id}/state c=32" "$state_put"
  row "POST /devices c=32 (right after)" "$state_post"
  row "GET .../states?limit=100 c=8" "$state_get"
  echo "device state: $state_rows records stored by the PUT run, $state_bytes bytes each (table and indexes, all partitions); PUT ÷ POST = $(awk -v a="$(get "$state_put" rps)" -v b="$(get "$state_post" rps)" 'BEGIN {printf "%.2f", a / b}')"
  for round in $(seq 1 "${#state_small[@]}"); do
    row "round $round PUT, $BENCH_STATE_DEVICES devices" "${state_small[$round]}"
    row "round $round PUT, $SEED_DEVICES devices" "${state_large[$round]}"
    echo "round $round: PUT with $SEED_DEVICES devices ÷ with $BENCH_STATE_DEVICES = $(awk -v a="$(get "${state_large[$round]}" rps)" -v b="$(get "${state_small[$round]}" rps)" 'BEGIN {printf "%.2f", a / b}')"
  done
fi
