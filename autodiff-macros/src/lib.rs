//! The `#[differentiable]` attribute of `autodiff`. Use it through the `autodiff`
//! crate, whose documentation describes the accepted syntax and what is emitted.
//!
//! The expansion runs in stages, each taking the previous stage's output:
//! `args` (the `wrt(...)` list) → `check` (every rejected construct, reported
//! together) → `parse` (signature and body) → `graph` (SSA dataflow graph) →
//! `reverse` (activity analysis and the adjoint program) → `emit` (Rust code).

mod args;
mod check;
mod emit;
mod errors;
mod expand;
mod graph;
mod params;
mod parse;
mod reverse;

use proc_macro::TokenStream;

/// Adds `NAME_grad`, `NameGrad` and `NAME_vjp` beside a function made of module
/// calls. See the `autodiff` crate documentation.
#[proc_macro_attribute]
pub fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::differentiable(args.into(), item.into()).into()
}

/// Implements `Params` (visit every tensor by name) and `Gradient` (the struct
/// is its own gradient type) for a struct of arrays. See the `autodiff` crate.
#[proc_macro_derive(Params)]
pub fn derive_params(input: TokenStream) -> TokenStream {
    params::derive(input.into()).into()
}
