-- POST /introspect of one access token (BENCH_TOKEN), client_secret_basic.
-- Only an `"active":true` answer counts: an inactive answer is cheap and wrong.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.body = "token=" .. required_env("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. required_env("BENCH_BASIC")
expect = '"active"%s*:%s*true'
