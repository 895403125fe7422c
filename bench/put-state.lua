-- wrk script: PUT /devices/{id}/state for a random one of BENCH_STATE_DEVICES devices (ids dev_ + the number in 24 hex
-- digits, as bench/run.sh seeds them; or dev_ + BENCH_STATE_PREFIX + the number in 16, the seed phase's devices),
-- time = now, counting every answer that is not 200.
local token = os.getenv("BENCH_TOKEN")
local devices = tonumber(os.getenv("BENCH_STATE_DEVICES") or "10000")
local prefix = os.getenv("BENCH_STATE_PREFIX")

local threads = {}

function setup(thread)
  thread:set("non200", 0)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  local path
  if prefix and prefix ~= "" then
    path = string.format("/devices/dev_%s%016x/state", prefix, math.random(1, devices))
  else
    path = string.format("/devices/dev_%024x/state", math.random(1, devices))
  end
  local body = string.format(
    '{"time":"%s","state_of_charge_percent":%d,"target_state_of_charge_percent":80,"battery_power_kw":-2.5,"energy_remaining_kwh":7.1,"backup_reserve_percent":20,"energy_flow_direction":"EXPORT"}',
    os.date("!%Y-%m-%dT%H:%M:%SZ"), math.random(0, 100))
  return wrk.format("PUT", path, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = (non200 or 0) + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non200") or 0)
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d non201=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, bad))
end
