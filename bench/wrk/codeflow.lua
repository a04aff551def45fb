-- The code flow's server side, as completed flows per second: GET /authorize
-- with a signed-in session and remembered consent (answered at once with a
-- redirect carrying a code), then POST /token exchanging that code with its
-- PKCE verifier. bench/codeflow_setup.py signs in and consents once, before.
--
-- Each wrk thread keeps a queue of codes: a connection that is free sends a
-- token request for the oldest waiting code, or else a new authorization
-- request. Latency figures are per request (either kind).
--
-- Environment: BENCH_AUTHORIZE_PATH (path and query), BENCH_COOKIE,
-- BENCH_BASIC, BENCH_REDIRECT_URI, BENCH_CODE_VERIFIER.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

count_flows = true
-- A FIFO queue: codes[first..last].
local codes = {}
local first, last = 1, 0
local authorize_request
local token_headers
local token_body_tail

local parent_init = init
function init(args)
  parent_init(args)
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
  elseif status == 200 then
    badbody = badbody + 1
  else
    non200 = non200 + 1
  end
end
