-- The code flow's server side, as completed flows per second: GET /authorize
-- with a signed-in session and remembered consent (answered at once with a
-- redirect carrying a code), then POST /token exchanging that code with its
-- PKCE verifier. bench/codeflow_setup.py signs in and consents once, before.
--
-- Each wrk thread keeps a queue of codes: a connection that is free sends a
-- token request for the oldest waiting code, or else a new authorization
-- request. wrk's latency figures are per request (either kind).
--
-- With one connection per thread the requests alternate, authorize then
-- token, so each flow is timed whole, from building its authorization request
-- to reading its token answer (CLOCK_MONOTONIC through LuaJIT's ffi), and the
-- BENCH line also carries flow_p50_us and flow_p99_us.
--
-- Environment: BENCH_AUTHORIZE_PATH (path and query), BENCH_COOKIE,
-- BENCH_BASIC, BENCH_REDIRECT_URI, BENCH_CODE_VERIFIER, BENCH_WRK_CONNECTIONS
-- and BENCH_WRK_THREADS (wrk -c and -t).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

count_flows = true
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1e6 + tonumber(clock.tv_nsec) / 1e3
end
local flow_started
-- A FIFO queue: codes[first..last].
local codes = {}
local first, last = 1, 0
local authorize_request
local token_headers
local token_body_tail

local parent_init = init
function init(args)
  parent_init(args)
  -- Read by common.lua's done(); timed only where flows cannot interleave.
  time_flows = os.getenv("BENCH_WRK_CONNECTIONS") == os.getenv("BENCH_WRK_THREADS")
  flow_us = {}
  authorize_request = wrk.format("GET", required_env("BENCH_AUTHORIZE_PATH"), {
    ["Cookie"] = required_env("BENCH_COOKIE"),
  })
  token_headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. required_env("BENCH_BASIC"),
  }
  token_body_tail = "&redirect_uri=" .. required_env("BENCH_REDIRECT_URI")
    .. "&code_verifier=" .. required_env("BENCH_CODE_VERIFIER")
end

function request()
  if first <= last then
    local code = codes[first]
    codes[first] = nil
    first = first + 1
    return wrk.format("POST", "/token", token_headers,
      "grant_type=authorization_code&code=" .. code .. token_body_tail)
  end
  if time_flows then flow_started = now_us() end
  return authorize_request
end

function response(status, headers, body)
  if status == 302 or status == 303 then
    local location = headers["Location"] or headers["location"] or ""
    local code = string.match(location, "[?&]code=([^&]+)")
    if code then
      last = last + 1
      codes[last] = code
    else
      badbody = badbody + 1
    end
  elseif status == 200 and string.find(body, '"access_token"') then
    flows = flows + 1
    if time_flows and flow_started then
      flow_us[#flow_us + 1] = now_us() - flow_started
      flow_started = nil
    end
  elseif status == 200 then
    badbody = badbody + 1
  else
    non200 = non200 + 1
  end
end
