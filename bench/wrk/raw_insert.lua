-- wrk script: POST /bench/raw-insert (the baseline), counting response statuses.
-- Run by bench/http.py; done() prints one `bench-result` line that it parses.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  wrk.method = "POST"
  wrk.path = "/bench/raw-insert"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
  wrk.headers["Content-Type"] = "application/json"
  -- The check-in's body, ignored by the route: both endpoints read the same bytes.
  wrk.body = '{"value":"1","confidence":"on_track","note":"bench","effective_on":"'
    .. os.getenv("BENCH_DATES"):match("[^,]+") .. '"}'
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
