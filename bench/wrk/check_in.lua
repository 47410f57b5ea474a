-- wrk script: POST /v1/key-results/{id}/check-ins, counting response statuses.
-- Rotates over the key results (so writers do not all contend on one goal's version)
-- and over effective dates inside the cycle and not in the future, each request with
-- an Idempotency-Key unique to the run, as a retrying client sends.
-- Run by bench/http.py; done() prints one `bench-result` line that it parses.

local threads = {}

local function split(text)
  local items = {}
  for item in text:gmatch("[^,]+") do table.insert(items, item) end
  return items
end

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  key_results = split(os.getenv("BENCH_KEY_RESULTS"))
  dates = split(os.getenv("BENCH_DATES"))
  run = os.getenv("BENCH_RUN")
  sent = 0
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
    ["Content-Type"] = "application/json",
  }
end

function request()
  -- Each thread starts at its own offset so threads spread over the key results too.
  local n = sent + thread_id * 7919
  sent = sent + 1
  headers["Idempotency-Key"] = run .. "-" .. thread_id .. "-" .. sent
  local body = string.format(
    '{"value":"%d","confidence":"on_track","note":"bench","effective_on":"%s"}',
    n % 100, dates[n % #dates + 1])
  return wrk.format("POST", "/v1/key-results/" .. key_results[n % #key_results + 1]
    .. "/check-ins", headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, total, failed = {}, {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  for status, n in pairs(counts) do
    if status < 200 or status > 299 then failed = failed + n end
    table.insert(total, status .. ":" .. n)
  end
  local errors = summary.errors
  io.write(string.format(
    "bench-result requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f non2xx=%d socket_errors=%d statuses=%s\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50.0) / 1000, latency:percentile(99.0) / 1000,
    failed, errors.connect + errors.read + errors.write + errors.timeout,
    table.concat(total, ",")))
end
