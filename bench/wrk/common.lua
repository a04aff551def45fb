-- Shared by every scenario script: counts bad responses in each wrk thread and
-- prints one machine-readable "BENCH ..." line at the end for bench/run.sh.
-- A response is bad when its status is not 200 or, if the scenario set
-- `expect` (a Lua pattern), when its body does not match it: a server that
-- answers fast with errors must not look fast. Any bad response or socket
-- error makes the run invalid. A scenario that sets `count_flows` reports
-- its rate as completed flows (the global `flows`) per second instead of
-- requests per second.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  badbody = 0
  flows = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif expect and not string.find(body, expect) then
    badbody = badbody + 1
  end
end

-- The p-th percentile (nearest rank) of a sorted list.
local function percentile(sorted, p)
  return sorted[math.max(1, math.ceil(#sorted * p / 100))]
end

function done(summary, latency, requests)
  local non, bad, done_flows = 0, 0, 0
  local flow_times = {}
  for _, t in ipairs(threads) do
    non = non + t:get("non200")
    bad = bad + t:get("badbody")
    done_flows = done_flows + t:get("flows")
    -- Whole-flow times, where the scenario keeps them (codeflow.lua).
    for _, us in ipairs(t:get("flow_us") or {}) do
      flow_times[#flow_times + 1] = us
    end
  end
  local operations = summary.requests
  if count_flows then operations = done_flows end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d flows=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non200=%d badbody=%d "
      .. "connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, done_flows, summary.duration, operations / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), non, bad,
    e.connect, e.read, e.write, e.timeout))
  if #flow_times > 0 then
    table.sort(flow_times)
    io.write(string.format("BENCH_FLOWS timed=%d flow_p50_us=%d flow_p99_us=%d\n",
      #flow_times, percentile(flow_times, 50), percentile(flow_times, 99)))
  end
end

-- Environment values the scenario scripts need; fail loudly when missing.
function required_env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error(name .. " is not set (bench/run.sh sets it)")
  end
  return value
end
