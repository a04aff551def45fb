-- POST /token, client_credentials, each request as the next client of a list:
-- BENCH_CLIENTS_FILE has one base64(client_id ":" client_secret) per line.
-- Used to compare one registered client with a million (seed_clients.py);
-- both sides run this same script, so its per-request Lua cost cancels out.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

expect = '"access_token"'
local body = "grant_type=client_credentials&scope=contact.read"
local requests = {}

local parent_init = init
function init(args)
  parent_init(args)
  -- Prebuild every request once per thread; request() only picks the next.
  for line in io.lines(required_env("BENCH_CLIENTS_FILE")) do
    if line ~= "" then
      table.insert(requests, wrk.format("POST", nil, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["Authorization"] = "Basic " .. line,
      }, body))
    end
  end
  -- Threads start at different offsets so they do not walk in step.
  next_index = (math.random(#requests) - 1)
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
