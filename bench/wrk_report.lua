-- wrk script for the bench: each request carries X-Forwarded-For from a pool of client addresses
-- (the ALB in front of the stack forwards many clients; the rendered Nginx rate-limits per client),
-- and the run ends with one machine-readable line: WRKJSON {...}.
local POOL = 4096
-- Optional, from the environment: every WRK_MIX_EVERY-th request goes to WRK_MIX_PATH instead
-- (the mixed load: 20 = 5% slow requests); WRK_GZIP=1 sends Accept-Encoding: gzip.
local MIX_EVERY = tonumber(os.getenv("WRK_MIX_EVERY") or "0")
local MIX_PATH = os.getenv("WRK_MIX_PATH")
local GZIP = os.getenv("WRK_GZIP") == "1"

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
    local headers = { ["X-Forwarded-For"] = ip }
    if GZIP then
      headers["Accept-Encoding"] = "gzip"
    end
    local path = nil
    if MIX_EVERY > 0 and MIX_PATH and n % MIX_EVERY == 0 then
      path = MIX_PATH
    end
    requests_[n] = wrk.format("GET", path, headers)
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
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d, "bytes": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status, summary.bytes))
end
