//! Every committed fuzz input of the server's targets (`fuzz/seeds/<target>/`,
//! and the crashes kept in `fuzz/regressions/<target>/`), replayed through the
//! very bodies the fuzz targets run, so a crash once found stays fixed.

#[path = "../../../fuzz/fuzz_targets/common/server.rs"]
mod bodies;
#[path = "../../../fuzz/fuzz_targets/common/replay.rs"]
mod replay;

/// Removes the in-process server's data directory, even when the test fails.
struct RemoveDataDir;

impl Drop for RemoveDataDir {
    fn drop(&mut self) {
        bodies::remove_data_dir();
    }
}

#[test]
fn committed_fuzz_inputs_pass() {
    let _cleanup = RemoveDataDir;
    replay::replay(bodies::TARGETS);
}
