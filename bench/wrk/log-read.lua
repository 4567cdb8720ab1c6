-- wrk script for bench/log: GETs of full level-0 tiles spread over the log (90%) and the
-- checkpoint (10%). FULL_TILES is the number of full level-0 tiles in the published tree.
local full = tonumber(os.getenv("FULL_TILES") or "1")
local i = 0

-- C2SP tlog-tiles index path: groups of three digits, all but the last prefixed with "x".
local function tile_path(n)
  local parts = {}
  local s = string.format("%d", n)
  local pad = (3 - (#s % 3)) % 3
  s = string.rep("0", pad) .. s
  for k = 1, #s, 3 do
    parts[#parts + 1] = s:sub(k, k + 2)
  end
  for k = 1, #parts - 1 do
    parts[k] = "x" .. parts[k]
  end
  return table.concat(parts, "/")
end

function request()
  i = i + 1
  if i % 10 == 0 then
    return wrk.format("GET", "/api/v2/checkpoint")
  end
  local n = (i * 7919) % full
  return wrk.format("GET", "/api/v2/tile/0/" .. tile_path(n))
end
