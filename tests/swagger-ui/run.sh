#!/usr/bin/env bash
# Runs the Swagger UI browser test against a real service and a throwaway PostgreSQL.
# Needs Debian's chromium (apt-get install chromium) and npm; .ci/run installs both.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
work=$(mktemp -d /tmp/flatpeak-swagger-ui.XXXXXX)
chmod 755 "$work"
service_pid=""
cleanup() {
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  "$root/scripts/throwaway-postgres.sh" stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

npm ci --no-audit --no-fund >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export ConnectionStrings__Postgres=$("$root/scripts/throwaway-postgres.sh" start "$work/pg" "$(free_port)")
export Auth__SigningKey=$(head -c 48 /dev/urandom | base64 | tr -d '\n') ASPNETCORE_ENVIRONMENT=Production
dotnet build "$root/src/Flatpeak.Devices.Api" -c Release --nologo -v quiet >&2
api="$root/src/Flatpeak.Devices.Api/bin/Release/net10.0/Flatpeak.Devices.Api.dll"
account=$(cd "$(dirname "$api")" && dotnet "$api" accounts create --name SwaggerUi 2>"$work/account.log")
account_id=$(echo "$account" | sed -E 's/.*"account_id":"([^"]+)".*/\1/')
test_key=$(echo "$account" | sed -E 's/.*"test_key":"([^"]+)".*/\1/')

export BASE_URL="http://127.0.0.1:$(free_port)"
(cd "$(dirname "$api")" && exec dotnet "$api" --urls "$BASE_URL") >"$work/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 1 120); do curl -fs "$BASE_URL/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
export BEARER_TOKEN=$(curl -fs -u "$account_id:$test_key" "$BASE_URL/login" | sed -E 's/.*"bearer_token":"([^"]+)".*/\1/')
export LOCATION_ID=$(curl -fs -X POST "$BASE_URL/locations" -H "Authorization: Bearer $BEARER_TOKEN" -H 'Content-Type: application/json' -d '{}' \
  | sed -E 's/.*"id":"(loc_[0-9a-f]+)".*/\1/')
node swagger-ui.test.mjs
