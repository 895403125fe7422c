-- wrk script: GET BENCH_GET_PATH (default /devices?limit=100, a full page), counting every answer that is not 200.
local token = os.getenv("BENCH_TOKEN")

wrk.method = "GET"
wrk.path = os.getenv("BENCH_GET_PATH") or "/devices?limit=100"
wrk.headers["Authorization"] = "Bearer " .. token

local threads = {}

function setup(thread)
  thread:set("non2xx", 0)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 200 then
    non2xx = (non2xx or 0) + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d non201=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, bad))
end
