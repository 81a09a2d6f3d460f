-- wrk script for the bench: each request carries X-Forwarded-For from a pool of client addresses
-- (the ALB in front of the stack forwards many clients; the rendered Nginx rate-limits per client),
-- and the run ends with one machine-readable line: WRKJSON {...}.
local POOL = 4096

local thread_id = 0
function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

local requests_ = nil
local i = 0

local function build()
  requests_ = {}
  local t = tid or 1
  for n = 1, POOL do
    local ip = string.format("10.%d.%d.%d", t % 256, math.floor(n / 256) % 256, n % 256)
    requests_[n] = wrk.format("GET", nil, { ["X-Forwarded-For"] = ip })
  end
end

function request()
  if requests_ == nil then
    build()
  end
  i = i % POOL + 1
  return requests_[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
