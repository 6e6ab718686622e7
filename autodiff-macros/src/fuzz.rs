//! Property tests of the whole macro: it never panics, on any input. Random
//! function bodies in the version-2 grammar (loops, branches, reassignment,
//! `break`, `continue`, `return`, constant code) must expand without an
//! error into code that parses; random mutations of them (tokens dropped,
//! swapped, duplicated) must still give code that parses, errors included.
//!
//! `PROPTEST_CASES` sets the number of cases (default 1,500 per property);
//! the seed of a run is printed (the mutations draw a new one each run), and
//! failures shrink and are kept under `proptest-regressions/` as regression
//! cases.

use proc_macro2::{TokenStream, TokenTree};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed, TestRunner};

use autodiff_programs as programs;
use programs::{function, stmts};

/// Expands `tokens` as `#[differentiable(wrt(...))]` of the generated
/// parameters; the output must parse.
fn expand(tokens: TokenStream) -> Result<String, String> {
    // With `hvp`: the tangent functions are printed beside the others.
    let args: TokenStream = format!("wrt({}), hvp", programs::WRT).parse().expect("a wrt list");
    let out = std::panic::catch_unwind(|| crate::expand::differentiable(args, tokens))
        .map_err(|_| "the macro panicked".to_string())?;
    syn::parse2::<syn::File>(out.clone()).map_err(|e| format!("output does not parse: {e}"))?;
    Ok(out.to_string())
}

/// A runner with `PROPTEST_CASES` cases and the seed `PROPTEST_SEED`, which it
/// prints so that a failing run can be repeated. Without `PROPTEST_SEED`,
/// `fresh` runners draw a new seed each run (from the clock), so that every
/// run explores new cases; the others keep a fixed seed.
fn runner(name: &str, fresh: bool) -> TestRunner {
    runner_part(name, fresh, 0, 1)
}

/// Part `part` of `parts` of a property's cases: a share of them, from the
/// seed plus `part`, so that the parts together run as many distinct cases
/// as one runner would, each part a test of its own (the harness runs tests
/// on every core; one property runs on one).
fn runner_part(name: &str, fresh: bool, part: u64, parts: u32) -> TestRunner {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = (env("PROPTEST_CASES").unwrap_or(1500) as u32).div_ceil(parts);
    let clock = || {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |d| d.as_nanos() as u64)
    };
    let seed = env("PROPTEST_SEED").unwrap_or_else(|| if fresh { clock() } else { 20_261_128 });
    if parts == 1 {
        println!("{name}: {cases} cases, PROPTEST_SEED={seed}");
    } else {
        println!(
            "{name}, part {} of {parts}: {cases} cases from seed {}, PROPTEST_SEED={seed}",
            part + 1,
            seed.wrapping_add(part)
        );
    }
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed.wrapping_add(part)),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        source_file: Some(file!()),
        ..Config::default()
    };
    TestRunner::new(config)
}

/// Random valid bodies expand without an error into code that parses. Each
/// case expands a whole function with `hvp` and parses the output, the
/// slowest property by far: its cases are split over two tests.
fn valid_bodies_expand_without_errors(part: u64) {
    let mut runner = runner_part("valid bodies", false, part, 2);
    runner
        .run(&stmts(2, false), |body| {
            let source = function(&body);
            let tokens: TokenStream = source.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
            let out = expand(tokens).map_err(TestCaseError::fail)?;
            prop_assert!(!out.contains("compile_error"), "rejected:\n{source}\n{out}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn valid_bodies_expand_without_errors_first_half() {
    valid_bodies_expand_without_errors(0);
}

#[test]
fn valid_bodies_expand_without_errors_second_half() {
    valid_bodies_expand_without_errors(1);
}

/// A mutation of a token tree: drop, swap with the next, or duplicate the
/// token at a position, at any depth. Positions are drawn as a fraction of
/// the program's tokens, so that every mutation lands inside it.
#[derive(Debug, Clone)]
enum Mutation {
    Drop(usize),
    Swap(usize),
    Duplicate(usize),
}

/// The number of token trees in `tokens`, at every depth.
fn count(tokens: TokenStream) -> usize {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(g) => 1 + count(g.stream()),
            _ => 1,
        })
        .sum()
}

fn mutate(tokens: TokenStream, m: &Mutation, counter: &mut usize) -> TokenStream {
    let mut trees: Vec<TokenTree> = Vec::new();
    for tree in tokens {
        let tree = match tree {
            TokenTree::Group(g) => {
                let mut inner = proc_macro2::Group::new(g.delimiter(), mutate(g.stream(), m, counter));
                inner.set_span(g.span());
                TokenTree::Group(inner)
            }
            other => other,
        };
        let here = *counter;
        *counter += 1;
        match m {
            Mutation::Drop(at) if *at == here => {}
            Mutation::Duplicate(at) if *at == here => {
                trees.push(tree.clone());
                trees.push(tree);
            }
            _ => trees.push(tree),
        }
        if let Mutation::Swap(at) = m
            && *at + 1 == here
            && trees.len() >= 2
        {
            let n = trees.len();
            trees.swap(n - 1, n - 2);
        }
    }
    trees.into_iter().collect()
}

#[test]
fn mutated_bodies_never_panic() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut runner = runner("mutated bodies", true);
    // Each mutation: a kind and where, as a fraction (per mille) of the tokens.
    let mutation = (0..3u8, 0..1000usize);
    let (tried, changed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    runner
        .run(
            &(stmts(2, false), proptest::collection::vec(mutation, 1..4)),
            |(body, mutations)| {
                let source = function(&body);
                let mut tokens: TokenStream = source.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
                for &(kind, per_mille) in &mutations {
                    let at = per_mille * count(tokens.clone()) / 1000;
                    let m = match kind {
                        0 => Mutation::Drop(at),
                        1 => Mutation::Swap(at),
                        _ => Mutation::Duplicate(at),
                    };
                    let before = tokens.to_string();
                    tokens = mutate(tokens, &m, &mut 0);
                    tried.fetch_add(1, Ordering::Relaxed);
                    if tokens.to_string() != before {
                        changed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // The macro must not panic on anything; when the mutated tokens
                // still form a function, its output (errors included) must parse.
                let still_a_function = syn::parse2::<syn::ItemFn>(tokens.clone()).is_ok();
                match expand(tokens.clone()) {
                    Err(e) if still_a_function || e.contains("panicked") => {
                        return Err(TestCaseError::fail(format!("{e}\ninput: {tokens}")));
                    }
                    _ => {}
                }
                Ok(())
            },
        )
        .unwrap();
    let (tried, changed) = (tried.into_inner(), changed.into_inner());
    println!("mutated bodies: {changed} of {tried} mutations changed the program");
    // A swap of two equal tokens changes nothing; anything else does.
    assert!(
        changed * 10 >= tried * 9,
        "only {changed} of {tried} mutations changed the program"
    );
}

#[test]
#[ignore]
fn print_a_sample() {
    let mut runner = runner("sample", false);
    for _ in 0..3 {
        let tree = stmts(2, false).new_tree(&mut runner).expect("a value");
        println!("{}", function(&proptest::strategy::ValueTree::current(&tree)));
    }
}
