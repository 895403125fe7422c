#!/usr/bin/env bash
# Regenerates the C# client of the API (Kiota) from the OpenAPI document the service serves.
# The end-to-end test in tests/Flatpeak.Devices.Tests/ClientGeneration uses it as an integrator would.
set -euo pipefail
cd "$(dirname "$0")/.."
# Offline: no update check (it would fail without internet access), no telemetry, no tutorial hints.
export KIOTA_OFFLINE_ENABLED=true KIOTA_CLI_TELEMETRY_OPTOUT=true KIOTA_TUTORIAL_ENABLED=false
dotnet tool restore >/dev/null
scripts/export-openapi.sh openapi.json
rm -rf tests/Flatpeak.Devices.Tests/GeneratedClient
dotnet kiota generate --language CSharp --openapi openapi.json --class-name FlatpeakDevicesClient \
  --namespace-name Flatpeak.Devices.Client --output tests/Flatpeak.Devices.Tests/GeneratedClient \
  --exclude-backward-compatible --clean-output
