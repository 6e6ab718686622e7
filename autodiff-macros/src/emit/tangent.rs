//! The tangents of the second-order functions (`hvp`): every value and
//! every gradient has a twin holding its directional derivative, stored
//! where the value is stored and restored where it is restored, so that a
//! loop's or a branch's tangents follow the records of its values.
//!
//! Every twin is an `Option` of its value's type, `None` for a tangent known
//! to be zero (a parameter not differentiated, a constant, a copy of one):
//! a rule given only zero tangents returns `None` without computing, so a
//! loop that starts from data (`let mut h = x.clone()`) spends no products
//! on its first tangent. Each step's twin calls the module's
//! `NAME_tangent` (the JVP of its forward) and each VJP becomes the module's
//! `NAME_vjp_tangent` (the VJP and its JVP together).

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::Ident;

use super::{Emitter, idents};
use crate::ir::{Callee, VarId};
use crate::plan::Storage;
use crate::program::Operand;

impl Emitter<'_> {
    /// `Option<&T>`: the twin of a variable held in a local, slot or tuple
    /// (`None`: a zero tangent, such as that of a copy of a constant).
    pub(super) fn tangent_value(&self, var: VarId) -> TokenStream {
        match self.plan.storage[var] {
            Storage::Local => {
                let t = idents::tangent(&idents::value(self.f, var));
                quote!(::core::option::Option::as_ref(&#t))
            }
            Storage::Slot { .. } | Storage::Result => {
                let t = idents::tangent(&idents::value(self.f, var));
                quote!(::core::option::Option::as_ref(::autodiff::__private::live(&#t)))
            }
            Storage::Item(tuple, k) => {
                let t = self.tangent_value(tuple);
                let item = idents::local("__t");
                if self.is_array(tuple) {
                    quote!(::core::option::Option::map(#t, |#item| &#item[#k]))
                } else {
                    let k = syn::Index::from(k);
                    quote!(::core::option::Option::map(#t, |#item| &#item.#k))
                }
            }
            // Parameters, layers and constants: see `tangent_operand`.
            Storage::Param(_) | Storage::Layer | Storage::Constant => quote!(::core::option::Option::None),
        }
    }

    /// Whether a parameter, or the model a layer belongs to, is differentiated:
    /// only those have a tangent (the others' is `None`, written where used so
    /// that each use infers its own type).
    pub(super) fn has_tangent(&self, var: VarId) -> bool {
        match self.plan.storage[var] {
            Storage::Param(i) => self.sig.params[i].wrt,
            Storage::Layer => self.plan.layers.get(&var).is_some_and(|l| self.has_tangent(l.model)),
            _ => true,
        }
    }

    /// The index of a parameter variable among the function's parameters.
    pub(super) fn param_index(&self, var: VarId) -> usize {
        match self.f.vars[var].kind {
            crate::ir::VarKind::Param(i) => i,
            _ => 0,
        }
    }

    /// The tangent of a layer loop's variable: `Option<&Layer>`.
    pub(super) fn layer_tangent(&self, var: VarId) -> Ident {
        idents::tangent(&self.layer_ident(var))
    }

    /// The tangent of an operand as the module's tangent rule takes it: an
    /// `Option` of what the forward call is passed (`None` for a constant).
    /// `by_ref` asks for a reference whatever the call passes.
    pub(super) fn tangent_operand(&self, op: &Operand, force_ref: bool) -> TokenStream {
        let none = quote!(::core::option::Option::None);
        match op {
            Operand::Var { var, by_ref, .. } => {
                let by_ref = *by_ref || force_ref;
                match self.plan.storage[*var] {
                    Storage::Param(_) | Storage::Layer if !self.has_tangent(*var) => none,
                    Storage::Param(i) => {
                        let tp = idents::param_tangent(i);
                        match (self.sig.params[i].is_ref, by_ref) {
                            (true, _) => coerced(tp.into_token_stream()),
                            (false, true) => quote!(::core::option::Option::as_ref(&#tp)),
                            (false, false) => quote!(::core::clone::Clone::clone(&#tp)),
                        }
                    }
                    Storage::Layer => coerced(self.layer_tangent(*var).into_token_stream()),
                    Storage::Constant => none,
                    _ => {
                        let t = self.tangent_value(*var);
                        if by_ref {
                            coerced(t)
                        } else {
                            quote!(::core::option::Option::cloned(#t))
                        }
                    }
                }
            }
            Operand::Field {
                param,
                path,
                index,
                by_ref,
                ..
            } => {
                let base = match self.plan.storage[*param] {
                    _ if !self.has_tangent(*param) => return none,
                    Storage::Param(i) => idents::param_tangent(i).into_token_stream(),
                    Storage::Layer => self.layer_tangent(*param).into_token_stream(),
                    _ => return none,
                };
                let t = idents::local("__t");
                let place = match index.as_ref().map(|(at, i)| (at, &**i)) {
                    Some((at, Operand::Const { hoist: Some(h), .. })) => {
                        let (list, rest) = path.split_at(*at);
                        let k = idents::hoist(h.id);
                        quote!(#t #(.#list)* [#k] #(.#rest)*)
                    }
                    _ => quote!(#t #(.#path)*),
                };
                if *by_ref || force_ref {
                    coerced(quote!(::core::option::Option::map(::core::option::Option::as_ref(&#base), |#t| &#place)))
                } else {
                    quote!(::core::option::Option::map(::core::option::Option::as_ref(&#base), |#t| ::core::clone::Clone::clone(&#place)))
                }
            }
            Operand::Const { .. } => none,
        }
    }

    /// `f_tangent(args, tail)` or `f_vjp_tangent(args, tail)`, as [`call`](Self::call)
    /// names the forward and the VJP.
    pub(super) fn tangent_call(
        &self,
        callee: &Callee,
        args: Vec<TokenStream>,
        tail: TokenStream,
        backward: bool,
        span: Span,
    ) -> TokenStream {
        let rename = |name: &Ident, span: Span| {
            if backward {
                idents::vjp_tangent_of(name, span)
            } else {
                idents::tangent_of(name, span)
            }
        };
        match callee {
            Callee::Module(path) => {
                let mut path = path.clone();
                if let Some(last) = path.segments.last_mut() {
                    last.ident = rename(&last.ident, last.ident.span());
                }
                quote_spanned!(span=> #path(#(#args,)* #tail))
            }
            Callee::Op(op) => {
                let name = rename(&Ident::new(op.module_name(), span), span);
                quote_spanned!(span=> ::autodiff::__private::#name(#(#args,)* #tail))
            }
            Callee::Method { method, turbofish } => {
                let method = rename(method, method.span());
                let mut args = args.into_iter();
                let receiver = args.next().unwrap_or_default();
                quote_spanned!(span=> (#receiver).#method #turbofish (#(#args,)* #tail))
            }
        }
    }

    /// The bindings of the parameters' tangents, `__tpI`, at the top of a body.
    pub(super) fn param_tangents(&self, source: ParamTangents) -> TokenStream {
        let lets = self.sig.params.iter().enumerate().filter(|(_, p)| p.wrt).map(|(i, p)| {
            let tp = idents::param_tangent(i);
            let value = match source {
                ParamTangents::Direction => {
                    let dir = idents::local("__direction");
                    let field = if self.sig.is_method {
                        if p.ident == "self" {
                            quote!(#dir.self_)
                        } else {
                            // The position among the differentiated arguments.
                            let k = self.sig.params[..i]
                                .iter()
                                .filter(|q| q.wrt && q.ident != "self")
                                .count();
                            let k = syn::Index::from(k);
                            quote!(#dir.args.#k)
                        }
                    } else {
                        let name = &p.ident;
                        quote!(#dir.#name)
                    };
                    if p.is_ref {
                        quote!(::core::option::Option::Some(&#field))
                    } else {
                        quote!(::core::option::Option::Some(::core::clone::Clone::clone(&#field)))
                    }
                }
                ParamTangents::Tuple => {
                    let (tuple, k) = (idents::local("__tangents"), syn::Index::from(i));
                    quote!(#tuple.#k)
                }
            };
            quote!(let #tp = #value;)
        });
        quote!(#(#lets)*)
    }
}

/// An `Option<&T>` rebuilt by a `match`, whose `Some(..)` is a coercion
/// site: the rule may take `Option<&U>` with `T: Deref<Target = U>` (an
/// `&Array2` where it takes `&ArrayRef2`), as a forward call's `&x` coerces.
fn coerced(option: TokenStream) -> TokenStream {
    let t = idents::local("__t");
    quote!(match #option {
        ::core::option::Option::Some(#t) => ::core::option::Option::Some(#t),
        ::core::option::Option::None => ::core::option::Option::None,
    })
}

/// Where a body's parameter tangents come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ParamTangents {
    /// `NAME_jvp`/`NAME_hvp`: the fields of the direction `__direction: &NameGrad`.
    Direction,
    /// `NAME_tangent`/`NAME_vjp_tangent`: the tuple `__tangents`, one `Option` per parameter.
    Tuple,
}
