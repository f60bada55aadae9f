-- The queue-status GET of status.lua, spread over several servers: wrk
-- thread i connects to the i-th of TARGETS (host:port,host:port,...), so
-- with as many threads as targets each server gets one thread's share. The
-- URL on the command line only gives the path and the Host header.
local targets = {}
for hostport in string.gmatch(os.getenv("TARGETS") or "", "[^,]+") do
  table.insert(targets, hostport)
end
local threads = 0

function setup(thread)
  if #targets == 0 then
    error("spread.lua: set TARGETS to host:port,host:port")
  end
  threads = threads + 1
  local host, port = targets[(threads - 1) % #targets + 1]:match("^(.*):(%d+)$")
  thread.addr = wrk.lookup(host, port)[1]
end

wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TICKET") or "none")
wrk.headers["Accept"] = "application/json"
