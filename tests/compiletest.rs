//! Every construct `#[differentiable]` rejects gets a clear error at the user's
//! span: one mistake per file in tests/ui, with the expected compiler output
//! beside it. Regenerate with `TRYBUILD=overwrite cargo test --test compiletest`
//! and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
