//! Every committed fuzz input of the guard's targets (`fuzz/seeds/<target>/`,
//! and the crashes kept in `fuzz/regressions/<target>/`), replayed through the
//! very bodies the fuzz targets run, so a crash once found stays fixed.

#[path = "../../../fuzz/fuzz_targets/common/guard.rs"]
mod bodies;
#[path = "../../../fuzz/fuzz_targets/common/replay.rs"]
mod replay;

#[test]
fn committed_fuzz_inputs_pass() {
    replay::replay(bodies::TARGETS);
}
