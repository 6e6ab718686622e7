//! Every name the generated code introduces, made here and nowhere else.
//!
//! Items, spanned at the user's function name so that errors about them
//! point there: `NAME_grad`, `NAME_grad_with`, `NameGrad`, `NAME_vjp`,
//! `NAME_GRAD_SOURCE`, `NAME_GRAPHS`.
//!
//! Locals, all `Span::mixed_site()` so that they never collide with the
//! user's names (the table is repeated in the `autodiff` crate's
//! documentation, where `NAME_GRAD_SOURCE` is; a test checks they agree) (`N` is a variable's number in the IR, `_h` the user's name
//! for it when there is one, `S` a step's number, `L` a loop's, `B` a
//! branch's):
//!
//! | name | holds |
//! |---|---|
//! | `__vN_h` | a value |
//! | `__sN_h` | the stack of a reassigned value's old values (read by the backward pass) |
//! | `__gN_h` | the gradient of a value; `__gN_k` of output `k` of a tuple; `__gN_h__a__b` of the field `h.a.b` |
//! | `__gmN_h` | the whole gradient of a model whose layers a loop visits (accumulated in place) |
//! | `__kS` | a constant that reads a local, evaluated once before its step; `__skS` its stack |
//! | `__lL` | loop `L`'s record: 0 at each start, then where each iteration ended |
//! | `__xL` | in the backward pass, where the iteration being reversed ended |
//! | `__iL` / `__ixL` | a loop over layers: the layer's index, and the stack of indices |
//! | `__bB` | branch `B`'s record: the arm taken, per execution |
//! | `__exit` / `'__forward` | where the function returned, and the label `return` leaves |
//! | `__yS` | a step's value restored from its stack for its VJP |
//! | `__cS_i` | the gradient that the VJP of step `S` gives argument `i` |
//! | `__g` | the upstream gradient inside a VJP call |
//! | `__new` | a new value on its way into a slot |
//! | `__need` / `__gout` | `NAME_vjp`'s flags and upstream gradient |
//! | `__s`, `__f` | a gradient being assembled, and one part added to it |
//! | `__workspace`, `__Scalar` | `NAME_grad_with`'s workspace; the output type's scalar |
//! | `__tpI` | the tangent of parameter `I` (`hvp`): an `Option`, `None` when not differentiated |
//! | `__direction` / `__tangents` | `NAME_hvp`'s direction `v`; the tangents `NAME_tangent` is given |
//! | `__t` | a parameter's tangent, inside the closure that takes one of its fields |
//! | `__out` / `__out__t` | `NAME_jvp`'s value and tangent, on their way out |

use proc_macro2::Span;
use quote::format_ident;
use syn::ext::IdentExt;
use syn::{Ident, ItemFn};

use crate::ir::{BranchId, Function, LoopId, VarId, VarKind};
use crate::plan::{FieldPath, Target};

/// The names of the generated items, spanned at the function's name.
pub struct Names {
    /// `NAME_with`: the forward pass alone, on a workspace's arrays.
    pub with_fn: Ident,
    pub grad_fn: Ident,
    pub grad_with_fn: Ident,
    pub grad_struct: Ident,
    pub vjp_fn: Ident,
    pub jvp_fn: Ident,
    pub jvp_with_fn: Ident,
    pub hvp_fn: Ident,
    pub hvp_with_fn: Ident,
    /// `NAME_GRAD_SOURCE`: the generated `NAME_grad`, pretty-printed.
    pub source_const: Ident,
    /// `NAME_GRAPHS`: the forward and gradient graphs in DOT.
    pub graphs_const: Ident,
}

pub fn names(func: &ItemFn) -> Names {
    let ident = &func.sig.ident;
    let plain = ident.to_string().trim_start_matches("r#").to_string();
    let camel: String = plain
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    Names {
        with_fn: format_ident!("{}_with", plain, span = ident.span()),
        grad_fn: format_ident!("{}_grad", plain, span = ident.span()),
        grad_with_fn: format_ident!("{}_grad_with", plain, span = ident.span()),
        grad_struct: format_ident!("{}Grad", camel, span = ident.span()),
        vjp_fn: format_ident!("{}_vjp", plain, span = ident.span()),
        jvp_fn: format_ident!("{}_jvp", plain, span = ident.span()),
        jvp_with_fn: format_ident!("{}_jvp_with", plain, span = ident.span()),
        hvp_fn: format_ident!("{}_hvp", plain, span = ident.span()),
        hvp_with_fn: format_ident!("{}_hvp_with", plain, span = ident.span()),
        source_const: format_ident!("{}_GRAD_SOURCE", plain.to_uppercase(), span = ident.span()),
        graphs_const: format_ident!("{}_GRAPHS", plain.to_uppercase(), span = ident.span()),
    }
}

/// The twin of a generated name holding its tangent (`hvp`): `__v3_h` →
/// `__v3_h__t`, `__g3_h` → `__g3_h__t`, a layer `layer` → `layer__t`.
pub fn tangent(ident: &Ident) -> Ident {
    local(&format!("{}__t", ident.unraw()))
}

pub fn param_tangent(index: usize) -> Ident {
    numbered("__tp", index)
}

/// The JVP of a module's forward: `linear` → `linear_tangent`.
pub fn tangent_of(name: &Ident, span: Span) -> Ident {
    format_ident!("{}_tangent", name, span = span)
}

/// A module's VJP with its JVP: `linear` → `linear_vjp_tangent`.
pub fn vjp_tangent_of(name: &Ident, span: Span) -> Ident {
    format_ident!("{}_vjp_tangent", name, span = span)
}

/// The VJP of a module or method: `linear` → `linear_vjp`, at `span`.
pub fn vjp_of(name: &Ident, span: Span) -> Ident {
    format_ident!("{}_vjp", name, span = span)
}

/// A field path as the hook events and the gradient's assembly write it:
/// at the call site, like the rest of the code they belong to.
pub fn members(path: &FieldPath) -> Vec<Ident> {
    path.members()
        .iter()
        .map(|m| {
            let mut m = m.clone();
            m.set_span(Span::call_site());
            m
        })
        .collect()
}

/// The members of a field path at the user's spans: an access written with
/// them to the same parameter fails, if the field does not exist, with the
/// very error of the user's own access, which rustc reports once.
pub fn user_members(path: &FieldPath) -> Vec<Ident> {
    path.members().to_vec()
}

/// A generated local (one of the table's fixed names).
pub fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// `_h` for a variable the user named `h`, so that the generated code reads
/// like the function it came from; nothing for values the passes introduce.
fn user_suffix(f: &Function, var: VarId) -> String {
    // Temporaries of nested calls are numbered past the IR's variables.
    let Some(v) = f.vars.get(var) else {
        return String::new();
    };
    let named = matches!(v.kind, VarKind::Param(_) | VarKind::Local | VarKind::Layer { .. });
    let name = v.ident.as_ref().map(|i| i.unraw().to_string()).unwrap_or_default();
    if named && !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("_{name}")
    } else {
        String::new()
    }
}

fn numbered(prefix: &str, n: impl std::fmt::Display) -> Ident {
    local(&format!("{prefix}{n}"))
}

pub fn value(f: &Function, var: VarId) -> Ident {
    local(&format!("__v{var}{}", user_suffix(f, var)))
}

pub fn value_stack(f: &Function, var: VarId) -> Ident {
    local(&format!("__s{var}{}", user_suffix(f, var)))
}

/// A constant the user's code names but the generated code never reads.
pub fn unread_constant(var: VarId) -> Ident {
    numbered("__constant", var)
}

/// A layer variable outside its loop (never read by correct code).
pub fn unbound_layer(var: VarId) -> Ident {
    numbered("__layer", var)
}

pub fn hoist(id: usize) -> Ident {
    numbered("__k", id)
}

pub fn hoist_stack(id: usize) -> Ident {
    numbered("__sk", id)
}

pub fn loop_record(id: LoopId) -> Ident {
    numbered("__l", id)
}

pub fn loop_site(id: LoopId) -> Ident {
    numbered("__x", id)
}

pub fn branch_record(id: BranchId) -> Ident {
    numbered("__b", id)
}

pub fn layer_index(loop_id: LoopId) -> Ident {
    numbered("__i", loop_id)
}

pub fn layer_index_stack(loop_id: LoopId) -> Ident {
    numbered("__ix", loop_id)
}

pub fn exit() -> Ident {
    local("__exit")
}

pub fn forward_label() -> syn::Lifetime {
    syn::Lifetime {
        apostrophe: Span::mixed_site(),
        ident: local("__forward"),
    }
}

/// A step's value restored for its VJP.
pub fn restored(step: usize) -> Ident {
    numbered("__y", step)
}

/// The VJP result of step `step` for argument `arg`.
pub fn vjp_result(step: usize, arg: usize) -> Ident {
    local(&format!("__c{step}_{arg}"))
}

pub fn gradient(f: &Function, target: &Target) -> Ident {
    match target {
        Target::Value(v) => local(&format!("__g{v}{}", user_suffix(f, *v))),
        Target::Item(v, k) => local(&format!("__g{v}_{k}")),
        Target::Field(v, path) => local(&format!("__g{v}{}__{}", user_suffix(f, *v), path.joined("__"))),
        Target::Indexed { param, .. } => model_gradient(f, *param),
    }
}

/// The whole gradient of a parameter whose layers receive gradients in a loop.
pub fn model_gradient(f: &Function, param: VarId) -> Ident {
    local(&format!("__gm{param}{}", user_suffix(f, param)))
}

#[cfg(test)]
mod tests {
    /// The names of this file's table, each documented in the `autodiff`
    /// crate's table too.
    #[test]
    fn every_generated_name_is_documented_for_users() {
        let here = include_str!("idents.rs");
        let facade = include_str!("../../../src/lib.rs");
        let names = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with("//! | `"))
                .flat_map(|l| {
                    let first = l.split('|').nth(1).unwrap_or_default().to_string();
                    first
                        .split('`')
                        .filter(|n| n.starts_with("__") || n.starts_with("'__"))
                        .map(|n| n.replace('N', "").replace("_h", ""))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let (ours, theirs) = (names(here), names(facade));
        assert!(ours.len() >= 20, "found only {} names: is the table there?", ours.len());
        for name in &ours {
            assert!(theirs.contains(name), "`{name}` is not in the table of src/lib.rs");
        }
    }
}
