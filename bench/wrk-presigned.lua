-- wrk script for bench/api-bench.ts: sends pre-built raw HTTP requests from a file (NUL-separated), each
-- once, in order. Signed requests carry a fresh nonce each, so none may be sent twice: when the stock
-- runs low the thread stops, keeping a reserve for the requests already asked for in the same loop
-- turn, and reports that (a run cut short would understate the rate, which wrk computes over the
-- whole duration). A file with a single request (the unsigned routes) is sent over and over.
local stock = {}
local threads = {}
local i = 0
local RESERVE = 64

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local text = f:read("*a")
  f:close()
  for r in string.gmatch(text, "[^%z]+") do stock[#stock + 1] = r end
end

function request()
  if #stock == 1 then return stock[1] end
  i = i + 1
  if i == #stock - RESERVE then
    exhausted = 1
    wrk.thread:stop()
  end
  return stock[math.min(i, #stock)]
end

function done(summary, latency, requests)
  local out = 0
  for _, t in ipairs(threads) do out = out + (t:get("exhausted") or 0) end
  io.write(string.format('WRK_JSON {"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"exhausted":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), out))
end
