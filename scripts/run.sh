#!/usr/bin/env bash
# Runs Flatpeak Devices on this machine, with all set-up done:
#  - PostgreSQL: ConnectionStrings__Postgres if you set it; otherwise a throwaway cluster from the local
#    PostgreSQL server binaries (installed with apt-get when missing and possible); deleted on exit.
#  - migrates, creates a demo account, prints ready-to-paste curl commands, then serves on http://localhost:$PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8080}
URL="http://localhost:$PORT"
work=$(mktemp -d /tmp/flatpeak-devices-run.XXXXXX)
chmod 755 "$work"
service_pid=""

cleanup() {
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  [ -z "${ConnectionStrings__Postgres_given:-}" ] && scripts/throwaway-postgres.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${ConnectionStrings__Postgres:-}" ]; then
  ConnectionStrings__Postgres_given=1
else
  if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "Installing the PostgreSQL server binaries (apt-get install postgresql)..." >&2
    [ "$(id -u)" = 0 ] && sudo="" || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  fi
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
  ConnectionStrings__Postgres=$(scripts/throwaway-postgres.sh start "$work/pg" "$pg_port")
  echo "PostgreSQL (throwaway): $ConnectionStrings__Postgres" >&2
fi
export ConnectionStrings__Postgres
export Auth__SigningKey=${Auth__SigningKey:-$(head -c 48 /dev/urandom | base64 | tr -d '\n')}
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Production}
# Local development: webhook receivers on this machine (localhost, a LAN address) are allowed.
export Webhooks__AllowPrivateNetworks=${Webhooks__AllowPrivateNetworks:-true}
# Logs for people when a person is watching; JSON (the default, for log collectors) otherwise.
if [ -t 1 ]; then export Logging__Console__FormatterName=${Logging__Console__FormatterName:-simple}; fi

echo "Building (Release)..." >&2
dotnet publish src/Flatpeak.Devices.Api -c Release -o "$work/app" --nologo -v quiet >&2
api="$work/app/Flatpeak.Devices.Api.dll"

account=$(cd "$(dirname "$api")" && dotnet "$api" accounts create --name Demo)
account_id=$(echo "$account" | sed -E 's/.*"account_id":"([^"]+)".*/\1/')
test_key=$(echo "$account" | sed -E 's/.*"test_key":"([^"]+)".*/\1/')

# From its own folder: that is where appsettings.json is (the content root), and service.env, its runtime environment.
(cd "$(dirname "$api")" && set -a && . ./service.env && set +a && exec dotnet "$api" --urls "$URL") &
service_pid=$!
for _ in $(seq 1 120); do
  curl -fs "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$service_pid" 2>/dev/null || { echo "The service did not start." >&2; exit 1; }
  sleep 0.5
done

cat <<MSG

Flatpeak Devices is serving on $URL   (Swagger UI: $URL/swagger)
Demo account: $account
For Flatpeak.Devices.http: @basicCredentials = $(printf '%s' "$account_id:$test_key" | base64 -w0)
Paste these into another shell:

ACCOUNT=$account_id
KEY=$test_key
TOKEN=\$(curl -s -u "\$ACCOUNT:\$KEY" $URL/login | sed -E 's/.*"bearer_token":"([^"]+)".*/\1/')
LOCATION=\$(curl -s -X POST $URL/locations -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
  -d '{"reference_id":"HOME-1","postal_address":{"address_line1":"1 Energy Way","city":"London","post_code":"SW1A 1AA","country_code":"GB"}}' \\
  | sed -E 's/.*"id":"(loc_[0-9a-f]+)".*/\1/')
curl -s -i -X POST $URL/devices -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' -d '{
  "reference_id": "DEV1234567890",
  "type": "BATTERY_SYSTEM",
  "locations": ["'\$LOCATION'"],
  "manufacturer": "Nova Systems",
  "model_code": "PICOXN2",
  "model_name": "Pico Ultimate",
  "properties": {
    "power_rating_import_kwh": 14.2,
    "capacity_kwh": 123,
    "power_rating_export_kwh": 7,
    "pv_azimuth": 0,
    "pv_tilt": 23,
    "pv_terrain_shading": false,
    "pv_forecasts_enabled": false,
    "install_date": "2022-03-22T11:12:21Z"
  }
}'

Ctrl-C stops the service and deletes the throwaway database.
MSG
wait "$service_pid"
