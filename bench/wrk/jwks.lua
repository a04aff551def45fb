-- GET /jwks.json (the URL given to wrk names the path).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
expect = '"keys"'
