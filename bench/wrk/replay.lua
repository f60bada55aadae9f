-- Replays one request per line of a file made by bench/reserveprep
-- ("METHOD<TAB>path<TAB>ticket<TAB>idempotency key<TAB>body"), no line
-- twice while lines last: threads 2j and 2j+1 share the j-th part of the
-- file, the one from its first line on and the other from its last line
-- back, so they meet wherever their shares end however wrk divides the
-- work between them; a part is sent again only once both have gone through
-- it, which done() reports ("sent again").
-- The requests are formatted in init(), before the clock starts, so that
-- wrk spends on each request about what it spends on a fixed one
-- (status.lua): matching and formatting a line per request in Lua cost the
-- client, on the same cores as the server, about 30 µs of CPU a request
-- more than a fixed request (55 against 25).
-- Usage: wrk ... -s bench/wrk/replay.lua URL -- FILE THREADS
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  local parts = math.ceil(nthreads / 2)
  local part = math.floor(id / 2)
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % parts == part then
      local method, path, ticket, key, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
      local headers = { ["Authorization"] = "Bearer " .. ticket, ["Content-Type"] = "application/json" }
      if key ~= "" then headers["Idempotency-Key"] = key end
      reqs[#reqs + 1] = wrk.format(method, path, headers, body)
    end
    i = i + 1
  end
  lines = #reqs
  down = id % 2 == 1
  pos = 0
end

function request()
  local i = pos % lines
  pos = pos + 1
  if down then i = lines - 1 - i end
  return reqs[i + 1]
end


-- Prints each part's lines and requests sent: more sent than lines means
-- lines were sent again. (wrk counts non-2xx answers itself; a response()
-- here to count statuses would cost the client about 5 µs a request.)
function done(summary, latency, requests)
  local parts = {}
  for i, t in ipairs(threads) do
    local p = math.floor((i - 1) / 2) + 1
    parts[p] = parts[p] or { lines = t:get("lines"), sent = 0 }
    parts[p].sent = parts[p].sent + t:get("pos")
  end
  for p, s in ipairs(parts) do
    io.write(string.format("part %d: lines %d, sent %d%s\n", p, s.lines, s.sent, s.sent > s.lines and " (sent again)" or ""))
  end
end
