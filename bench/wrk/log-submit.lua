-- wrk script for bench/log: each connection POSTs distinct pre-signed log entries.
-- BODIES names a file of request bodies, one per line; thread k of n sends lines k, k+n, ...
-- TOKEN is the log:write bearer token. Every body is sent at most once (a repeated body would
-- be a duplicate, answered without appending); when a thread runs out it stops.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  bodies = {}
  local i = 0
  local total = tonumber(os.getenv("WRK_THREADS") or "2")
  for line in io.lines(os.getenv("BODIES")) do
    if i % total == id then
      bodies[#bodies + 1] = line
    end
    i = i + 1
  end
  next_body = 1
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }
end

function request()
  local body = bodies[next_body]
  if body == nil then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  next_body = next_body + 1
  return wrk.format("POST", "/api/v2/log/entries", headers, body)
end
