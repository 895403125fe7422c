#!/usr/bin/env bash
# Writes the service's OpenAPI document to a file (default: openapi.json), as the running service serves it.
# No database is needed: the document does not touch one.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-openapi.json}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 58080)
dotnet build src/Flatpeak.Devices.Api -c Release --nologo -v quiet >&2
ConnectionStrings__Postgres="Host=127.0.0.1;Port=1" Database__MigrateOnStartup=false \
Auth__SigningKey=export-openapi-document-only-key-0123456789 ASPNETCORE_ENVIRONMENT=Production \
  dotnet src/Flatpeak.Devices.Api/bin/Release/net10.0/Flatpeak.Devices.Api.dll --urls "http://127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$port/swagger/v1/swagger.json" -o "$out" 2>/dev/null && exit 0
  sleep 0.5
done
echo "the service did not serve its OpenAPI document" >&2
exit 1
