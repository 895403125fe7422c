-- wrk script: POST the seed device of create-a-device.txt, counting every answer that is not 201.
-- BENCH_TOKEN and BENCH_LOCATION come from the environment (bench/run.sh sets them).
local token = os.getenv("BENCH_TOKEN")
local location = os.getenv("BENCH_LOCATION")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = [[{
  "reference_id": "DEV1234567890",
  "type": "BATTERY_SYSTEM",
  "locations": ["]] .. location .. [["],
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
}]]

-- BENCH_DELAY_MS: each connection waits this long after an answer before its next request (a paced load).
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end

local threads = {}

function setup(thread)
  thread:set("non201", 0)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 201 then
    non201 = (non201 or 0) + 1
  end
end

function done(summary, latency, requests)
  local non201 = 0
  for _, thread in ipairs(threads) do
    non201 = non201 + (thread:get("non201") or 0)
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d non201=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, non201))
end
