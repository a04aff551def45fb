-- POST /token, grant_type=refresh_token, client_secret_basic.
--
-- Refresh tokens rotate: each is good for one use, and its answer carries the
-- successor. Each wrk thread keeps a FIFO pool of live tokens: request() takes
-- the oldest out of the pool (so a token is in flight on one connection at a
-- time, never twice), and response() puts the successor from the answer back
-- at the end. The pool starts with the tokens of BENCH_REFRESH_FILE (one per
-- line, from bench/refresh_pool.py), shared out between the threads; it needs
-- more tokens than connections, or connections would wait for one.
--
-- A refused refresh is an error, and so is an answer without an access token
-- and a refresh token (its token is then lost to the pool). Should the pool run
-- dry, the request carries a token that does not exist, so the run shows
-- errors instead of quietly reusing a spent one.
--
-- Environment: BENCH_BASIC, BENCH_REFRESH_FILE, BENCH_WRK_THREADS (wrk -t).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local pool = {}
local first, last = 1, 0
local headers

local parent_setup = setup
local thread_count = 0
function setup(thread)
  parent_setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
end

local parent_init = init
function init(args)
  parent_init(args)
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. required_env("BENCH_BASIC"),
  }
  local threads = tonumber(required_env("BENCH_WRK_THREADS"))
  local line_number = 0
  for line in io.lines(required_env("BENCH_REFRESH_FILE")) do
    if line ~= "" then
      -- Line n goes to thread ((n - 1) mod threads) + 1: no token in two pools.
      if line_number % threads + 1 == thread_index then
        last = last + 1
        pool[last] = line
      end
      line_number = line_number + 1
    end
  end
  if last == 0 then
    error("no refresh tokens for this thread in " .. required_env("BENCH_REFRESH_FILE"))
  end
end

function request()
  local token = "pool-ran-dry"
  if first <= last then
    token = pool[first]
    pool[first] = nil
    first = first + 1
  end
  return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, response_headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  local successor = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  if successor and string.find(body, '"access_token"') then
    last = last + 1
    pool[last] = successor
  else
    badbody = badbody + 1
  end
end
