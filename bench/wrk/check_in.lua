-- wrk script: POST /v1/key-results/{id}/check-ins, counting response statuses.
-- Rotates over the key results (so writers do not all contend on one goal's version)
-- and over effective dates inside the cycle and not in the future, each request with
-- an Idempotency-Key unique to the run, as a retrying client sends.
-- Run by bench/http.py; report.lua counts statuses and prints the result line.

local function split(text)
  local items = {}
  for item in text:gmatch("[^,]+") do table.insert(items, item) end
  return items
end

dofile(os.getenv("BENCH_WRK_REPORT"))

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
