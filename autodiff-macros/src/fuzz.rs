//! Property tests of the whole macro: it never panics, on any input. Random
//! function bodies in the version-2 grammar (loops, branches, reassignment,
//! `break`, `continue`, `return`, constant code) must expand without an
//! error into code that parses; random mutations of them (tokens dropped,
//! swapped, duplicated) must still give code that parses, errors included.
//!
//! `PROPTEST_CASES` sets the number of cases (default 1,500 per property);
//! the seed of a run is printed, and failures shrink and are kept under
//! `proptest-regressions/` as regression cases.

use proc_macro2::{TokenStream, TokenTree};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed, TestRunner};

use autodiff_programs as programs;
use programs::{function, stmts};

/// Expands `tokens` as `#[differentiable(wrt(w))]`; the output must parse.
fn expand(tokens: TokenStream) -> Result<String, String> {
    let out = std::panic::catch_unwind(|| crate::expand::differentiable(quote::quote!(wrt(w)), tokens))
        .map_err(|_| "the macro panicked".to_string())?;
    syn::parse2::<syn::File>(out.clone()).map_err(|e| format!("output does not parse: {e}"))?;
    Ok(out.to_string())
}

/// A runner with `PROPTEST_CASES` cases and the seed `PROPTEST_SEED`, which it
/// prints so that a failing run can be repeated. The default seed is fixed,
/// so that CI runs the same cases every time; other seeds explore further.
fn runner(name: &str) -> TestRunner {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = env("PROPTEST_CASES").unwrap_or(1500) as u32;
    let seed = env("PROPTEST_SEED").unwrap_or(20_261_128);
    println!("{name}: {cases} cases, PROPTEST_SEED={seed}");
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        source_file: Some(file!()),
        ..Config::default()
    };
    TestRunner::new(config)
}

#[test]
fn valid_bodies_expand_without_errors() {
    let mut runner = runner("valid bodies");
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

/// A mutation of a token tree: drop, swap with the next, or duplicate the
/// token at a position, at any depth.
#[derive(Debug, Clone)]
enum Mutation {
    Drop(usize),
    Swap(usize),
    Duplicate(usize),
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
    let mut runner = runner("mutated bodies");
    let mutation = prop_oneof![
        (0..400usize).prop_map(Mutation::Drop),
        (0..400usize).prop_map(Mutation::Swap),
        (0..400usize).prop_map(Mutation::Duplicate),
    ];
    runner
        .run(
            &(stmts(2, false), proptest::collection::vec(mutation, 1..4)),
            |(body, mutations)| {
                let source = function(&body);
                let mut tokens: TokenStream = source.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
                for m in &mutations {
                    tokens = mutate(tokens, m, &mut 0);
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
}

#[test]
#[ignore]
fn print_a_sample() {
    let mut runner = runner("sample");
    for _ in 0..3 {
        let tree = stmts(2, false).new_tree(&mut runner).expect("a value");
        println!("{}", function(&proptest::strategy::ValueTree::current(&tree)));
    }
}
