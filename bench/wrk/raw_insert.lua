-- wrk script: POST /bench/raw-insert (the baseline), counting response statuses.
-- Run by bench/http.py; report.lua counts statuses and prints the result line.

dofile(os.getenv("BENCH_WRK_REPORT"))

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
