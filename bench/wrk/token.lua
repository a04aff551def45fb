-- POST /token, grant_type=client_credentials, client_secret_basic.
-- BENCH_BASIC is base64(client_id ":" client_secret), made by bench/run.sh.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "POST"
-- BENCH_TOKEN_EXTRA (optional) adds form parameters, e.g. "&resource=...".
wrk.body = "grant_type=client_credentials&scope=contact.read" .. (os.getenv("BENCH_TOKEN_EXTRA") or "")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. required_env("BENCH_BASIC")
expect = '"access_token"'
