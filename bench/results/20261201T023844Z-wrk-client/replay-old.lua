-- Replays one request per line of a file made by bench/reserveprep
-- ("METHOD<TAB>path<TAB>ticket<TAB>idempotency key<TAB>body"); each thread
-- takes every Nth line, so no request is sent twice while lines last.
-- Usage: wrk ... -s bench/wrk/replay.lua URL -- FILE THREADS
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  file, nthreads = args[1], tonumber(args[2])
  lines = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then table.insert(lines, line) end
    i = i + 1
  end
  pos = 0
  status = {}
end

function request()
  pos = pos + 1
  local line = lines[((pos - 1) % #lines) + 1]
  local method, path, ticket, key, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
  local headers = { ["Authorization"] = "Bearer " .. ticket, ["Content-Type"] = "application/json" }
  if key ~= "" then headers["Idempotency-Key"] = key end
  return wrk.format(method, path, headers, body)
end

function response(code)
  status[code] = (status[code] or 0) + 1
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local s = t:get("status")
    for code, n in pairs(s) do io.write(string.format("status %d: %d\n", code, n)) end
    io.write(string.format("lines %d, sent %d\n", #t:get("lines"), t:get("pos")))
  end
end
