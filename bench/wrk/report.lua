-- Shared by the bench's wrk scripts: counts each thread's response statuses and, when the
-- run is over, prints the one `bench-result` line bench/http.py parses. Both endpoints are
-- measured by this same code, so their figures compare. Each script loads it with
-- dofile(os.getenv("BENCH_WRK_REPORT")) and sets `statuses = {}` in its init().

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
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
