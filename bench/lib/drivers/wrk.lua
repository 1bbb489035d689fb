-- wrk script for bench/lib/drivers/wrk.mjs. Arguments (after `--`):
--   method, body size in bytes (0: none), pipelining depth, number of x-h-N headers.
-- Prints one line, "WRK_RESULT {json}", from done() so the harness needs no text scraping.

function init(args)
  wrk.method = args[1]
  local body_size = tonumber(args[2])
  if body_size > 0 then
    -- The same bytes as ECHO_BODY in bench/lib/scenarios.mjs: 'a' + (i * 7) % 26.
    local bytes = {}
    for i = 0, body_size - 1 do bytes[#bytes + 1] = string.char(97 + (i * 7) % 26) end
    wrk.body = table.concat(bytes)
    wrk.headers["Content-Type"] = "application/octet-stream"
  end
  for i = 1, tonumber(args[4]) do wrk.headers["x-h-" .. i] = "value-" .. i end
  local depth = tonumber(args[3])
  if depth > 1 then
    -- Defining a global request() makes wrk count the requests in the returned buffer and
    -- keep that many in flight on each connection: pipelining.
    local batch = string.rep(wrk.format(), depth)
    request = function() return batch end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
