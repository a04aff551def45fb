-- GET /.well-known/openid-configuration (the URL given to wrk names the path).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
expect = '"issuer"'
