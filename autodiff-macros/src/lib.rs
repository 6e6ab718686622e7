//! The `#[differentiable]` attribute of `autodiff`. Use it through the `autodiff`
//! crate, whose documentation describes the accepted syntax and what is emitted.
//!
//! The expansion is a pipeline of passes, each taking the previous one's
//! output, with its result verified between them: `args` (the `wrt(...)`
//! list) and `signature` → `lower` (syn to the IR of `ir`, every error at
//! once) → `verify` → `activity` (what depends on a differentiated
//! parameter) → `reverse` (the `program`: steps and records) → `plan` (where
//! each value lives and when it is recycled, which gradient each VJP result
//! adds to) and `hooks` (where gradient hooks fire) → `emit` (prints Rust;
//! `show` formats it for the docs, `graph` draws the forward and gradient
//! graphs). Analysis ends before `emit`: the printer decides nothing.
//!
//! Each pass imports only the passes before it and the data they produce
//! (`tests::modules_import_no_cycle` checks that no two modules import each
//! other, directly or around a circle); nothing after `lower` reads the
//! user's `syn` tree except to print code kept as written.

mod activity;
mod args;
mod emit;
mod errors;
mod expand;
#[cfg(test)]
mod fuzz;
mod graph;
mod hooks;
#[cfg(test)]
mod imports;
mod ir;
mod lower;
mod module;
mod params;
mod plan;
mod program;
mod reverse;
mod show;
mod signature;

use proc_macro::TokenStream;

/// Adds `NAME_grad`, `NAME_grad_with`, `NameGrad`, `NAME_vjp`, `NAME_GRAD_SOURCE` and
/// `NAME_GRAPHS` beside a function made of module
/// calls, and with `hvp` also `NAME_jvp`, `NAME_hvp` (and their `_with`
/// forms) and the tangent functions of the module convention. See the
/// `autodiff` crate documentation.
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

/// The implementation of the runtime's `module!`, which passes its own crate
/// path first. Use `autodiff::module!`.
#[doc(hidden)]
#[proc_macro]
pub fn declare_module(input: TokenStream) -> TokenStream {
    module::expand(input.into()).into()
}
