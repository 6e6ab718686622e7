//! Emits the code: the untouched function, `NameGrad`, `NAME_grad` (value and
//! gradients of a scalar function) and `NAME_vjp` (the function as a module, so
//! other differentiable functions can call it).
//!
//! Emitted code names the runtime only through `::autodiff::__private` and the
//! standard library only through `::core`. Generated locals (`__v3`, `__g3`)
//! are `Span::mixed_site()` so they never collide with the user's names; every
//! forward and VJP call carries the span of the user's call, so type errors
//! point at the user's code.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{Ident, ItemFn, ReturnType, Type};

use crate::graph::{Arg, Callee, Graph, NodeId, NodeKind};
use crate::parse::Signature;
use crate::reverse::{Adjoint, Mode, Need, ParamGrad, Step, Target};

/// The names of the generated items, spanned at the function's name.
pub struct Names {
    pub grad_fn: Ident,
    pub grad_with_fn: Ident,
    pub grad_struct: Ident,
    pub vjp_fn: Ident,
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
        grad_fn: format_ident!("{}_grad", plain, span = ident.span()),
        grad_with_fn: format_ident!("{}_grad_with", plain, span = ident.span()),
        grad_struct: format_ident!("{}Grad", camel, span = ident.span()),
        vjp_fn: format_ident!("{}_vjp", plain, span = ident.span()),
    }
}

fn local(name: String) -> Ident {
    Ident::new(&name, Span::mixed_site())
}

fn value_ident(id: NodeId) -> Ident {
    local(format!("__v{id}"))
}

fn grad_ident(target: &Target) -> Ident {
    match target {
        Target::Value(id) => local(format!("__g{id}")),
        Target::Item(id, k) => local(format!("__g{id}_{k}")),
        Target::Field(id) => local(format!("__g{id}")),
    }
}

fn output_type(func: &ItemFn) -> TokenStream {
    match &func.sig.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote!(()),
    }
}

/// The gradient type of each parameter: `NoGrad` for those not differentiated.
fn slot_types(sig: &Signature<'_>) -> Vec<TokenStream> {
    sig.params
        .iter()
        .map(|p| {
            if p.wrt {
                let ty = p.grad_type();
                quote!(#ty)
            } else {
                quote!(::autodiff::__private::NoGrad)
            }
        })
        .collect()
}

/// A statement of the generated body, with the values it defines and reads:
/// what the memory plan needs to place each `drop`.
struct Statement {
    code: TokenStream,
    defines: Option<NodeId>,
    reads: Vec<NodeId>,
}

/// The static memory plan: the forward statements, then the backward ones,
/// each intermediate dropped right after its last use (so the peak memory of
/// the backward pass falls as it proceeds, as in hand-written backprop that
/// frees activations layer by layer). `keep` is the returned output.
fn plan(forward: Vec<Statement>, backward: Vec<Statement>, keep: Option<NodeId>) -> Vec<TokenStream> {
    let statements: Vec<Statement> = forward.into_iter().chain(backward).collect();
    let mut last_use: HashMap<NodeId, usize> = HashMap::new();
    for (i, s) in statements.iter().enumerate() {
        for &node in s.defines.iter().chain(&s.reads) {
            last_use.insert(node, i);
        }
    }
    let mut out = Vec::with_capacity(statements.len() * 2);
    for (i, s) in statements.into_iter().enumerate() {
        out.push(s.code);
        let mut dead: Vec<NodeId> = last_use
            .iter()
            .filter(|&(&n, &at)| at == i && Some(n) != keep)
            .map(|(&n, _)| n)
            .collect();
        dead.sort_unstable();
        for node in dead {
            let v = value_ident(node);
            out.push(quote!(::autodiff::__private::recycle!(#v);));
        }
    }
    out
}

struct Emitter<'g> {
    graph: &'g Graph,
    sig: &'g Signature<'g>,
}

impl Emitter<'_> {
    fn param_ident(&self, index: usize) -> &Ident {
        self.sig.params[index].ident
    }

    /// An expression of type `&T` for the node's value.
    fn ref_expr(&self, id: NodeId) -> TokenStream {
        match &self.graph.nodes[id].kind {
            NodeKind::Param(i) => {
                let ident = self.param_ident(*i);
                if self.sig.params[*i].is_ref {
                    quote!(#ident)
                } else {
                    quote!(&#ident)
                }
            }
            NodeKind::Const(tokens) => quote!(&(#tokens)),
            NodeKind::Call { .. } => {
                let v = value_ident(id);
                quote!(&#v)
            }
            NodeKind::Item { tuple, index } => {
                let (v, index) = (value_ident(*tuple), syn::Index::from(*index));
                quote!(&#v.#index)
            }
            NodeKind::Field { base, path } => {
                let base = self.place(*base);
                quote!(&#base #(.#path)*)
            }
        }
    }

    /// Where a parameter struct lives, for field access.
    fn place(&self, id: NodeId) -> TokenStream {
        match &self.graph.nodes[id].kind {
            NodeKind::Param(i) => {
                let ident = self.param_ident(*i);
                quote!(#ident)
            }
            _ => {
                let v = value_ident(id);
                quote!(#v)
            }
        }
    }

    /// An expression of the node's own type (a clone where the value is owned,
    /// so the backward pass can still read it).
    fn value_expr(&self, id: NodeId) -> TokenStream {
        match &self.graph.nodes[id].kind {
            NodeKind::Param(i) if self.sig.params[*i].is_ref => {
                let ident = self.param_ident(*i);
                quote!(#ident)
            }
            NodeKind::Const(tokens) => tokens.clone(),
            _ => {
                let r = self.ref_expr(id);
                quote!(::core::clone::Clone::clone(#r))
            }
        }
    }

    fn arg_expr(&self, arg: &Arg) -> TokenStream {
        if arg.by_ref {
            self.ref_expr(arg.node)
        } else {
            self.value_expr(arg.node)
        }
    }

    /// The forward function and the VJP function of a call.
    fn callee_paths(&self, id: NodeId) -> (TokenStream, TokenStream) {
        let node = &self.graph.nodes[id];
        let NodeKind::Call { callee, .. } = &node.kind else {
            return (quote!(), quote!());
        };
        match callee {
            Callee::Module(path) => {
                let mut vjp = path.clone();
                if let Some(last) = vjp.segments.last_mut() {
                    last.ident = format_ident!("{}_vjp", last.ident, span = last.ident.span());
                }
                (quote!(#path), quote!(#vjp))
            }
            Callee::Op(op) => {
                let span = node.span;
                let forward = Ident::new(op.module_name(), span);
                let vjp = format_ident!("{}_vjp", forward, span = span);
                (
                    quote_spanned!(span=> ::autodiff::__private::#forward),
                    quote_spanned!(span=> ::autodiff::__private::#vjp),
                )
            }
        }
    }

    /// The local holding a node's value, if it has one: a call's own `__vN`, or
    /// the tuple an item is read from.
    fn storage(&self, id: NodeId) -> Option<NodeId> {
        match &self.graph.nodes[id].kind {
            NodeKind::Call { .. } => Some(id),
            NodeKind::Item { tuple, .. } => Some(*tuple),
            _ => None,
        }
    }

    fn reads_of_args(&self, args: &[Arg]) -> Vec<NodeId> {
        args.iter().filter_map(|a| self.storage(a.node)).collect()
    }

    /// One `let` per call, in the user's order.
    fn forward(&self) -> Vec<Statement> {
        let mut out = Vec::new();
        for (id, node) in self.graph.nodes.iter().enumerate() {
            let NodeKind::Call { args, .. } = &node.kind else {
                continue;
            };
            let (function, _) = self.callee_paths(id);
            let v = value_ident(id);
            let ty = node.ty.as_ref().map(|ty: &Type| quote!(: #ty));
            let arg_exprs = args.iter().map(|a| self.arg_expr(a));
            out.push(Statement {
                code: quote_spanned!(node.span=> let #v #ty = #function(#(#arg_exprs),*);),
                defines: Some(id),
                reads: self.reads_of_args(args),
            });
        }
        out
    }

    fn need_expr(need: &Need) -> TokenStream {
        match need {
            Need::Never => quote!(false),
            Need::Always => quote!(true),
            Need::Params(set) => {
                let flag = local("__need".into());
                let terms = set.iter().map(|&i| {
                    let i = proc_macro2::Literal::usize_unsuffixed(i);
                    quote!(#flag[#i])
                });
                quote!((#(#terms)||*))
            }
        }
    }

    /// The backward pass: the seed, then one step per active call in reverse
    /// order. `seed` overrides the seed of `NAME_grad` (∂C/∂C = 1).
    fn backward(&self, adjoint: &Adjoint, seed: Option<TokenStream>) -> Vec<Statement> {
        let mut out = Vec::new();
        if !adjoint.seeded {
            return out;
        }
        let seed_target = grad_ident(&crate::reverse::target_of(self.graph, self.graph.output));
        let seed = match (adjoint.mode, seed) {
            (Mode::Grad, Some(seed)) => seed,
            (Mode::Grad, None) => {
                let output = self.ref_expr(self.graph.output);
                quote!(::autodiff::__private::seed(#output))
            }
            // The caller's upstream gradient, moved in.
            (Mode::Vjp, _) => local("__gout".into()).into_token_stream(),
        };
        out.push(Statement {
            code: quote!(let #seed_target = ::core::option::Option::Some(#seed);),
            defines: None,
            reads: self.storage(self.graph.output).into_iter().collect(),
        });
        for step in &adjoint.steps {
            out.push(match step {
                Step::Gather { call, outputs } => Statement {
                    code: self.gather(*call, outputs),
                    defines: None,
                    reads: vec![*call],
                },
                Step::Vjp {
                    call,
                    need,
                    contributions,
                } => {
                    let NodeKind::Call { args, .. } = &self.graph.nodes[*call].kind else {
                        continue;
                    };
                    let mut reads = self.reads_of_args(args);
                    reads.push(*call);
                    Statement {
                        code: self.vjp_step(*call, need, contributions),
                        defines: None,
                        reads,
                    }
                }
            });
        }
        out
    }

    fn gather(&self, call: NodeId, outputs: &[bool]) -> TokenStream {
        let target = grad_ident(&Target::Value(call));
        let v = value_ident(call);
        let present = outputs
            .iter()
            .enumerate()
            .filter(|(_, d)| **d)
            .map(|(k, _)| grad_ident(&Target::Item(call, k)));
        let items = outputs.iter().enumerate().map(|(k, declared)| {
            let index = syn::Index::from(k);
            let grad = if *declared {
                grad_ident(&Target::Item(call, k)).into_token_stream()
            } else {
                quote!(::core::option::Option::None)
            };
            quote!(::autodiff::__private::or_zeros(#grad, &#v.#index))
        });
        quote! {
            let #target = if #(#present.is_some())||* {
                ::core::option::Option::Some((#(#items,)*))
            } else {
                ::core::option::Option::None
            };
        }
    }

    fn vjp_step(&self, call: NodeId, need: &[Need], contributions: &[crate::reverse::Contribution]) -> TokenStream {
        let node = &self.graph.nodes[call];
        let NodeKind::Call { args, .. } = &node.kind else {
            return quote!();
        };
        let (_, vjp) = self.callee_paths(call);
        let upstream = grad_ident(&Target::Value(call));
        let g = local("__g".into());
        let v = value_ident(call);
        let slot = |i: usize| local(format!("__c{call}_{i}"));
        let slots = (0..args.len()).map(|i| {
            if contributions.iter().any(|c| c.arg == i) {
                slot(i).into_token_stream()
            } else {
                quote!(_)
            }
        });
        let nones = args.iter().map(|_| quote!(::core::option::Option::None));
        let arg_exprs = args.iter().map(|a| self.arg_expr(a));
        let needs = need.iter().map(Self::need_expr);
        let mut out = quote_spanned! {node.span=>
            let (#(#slots,)*) = match #upstream {
                ::core::option::Option::Some(#g) => #vjp(#(#arg_exprs,)* &#v, #g, [#(#needs),*]),
                ::core::option::Option::None => (#(#nones,)*),
            };
        };
        for c in contributions {
            let target = grad_ident(&c.target);
            // The check and its slot share one hygiene context, located at the
            // user's argument, so a `NoGrad` error points at that argument.
            let at_arg = Span::mixed_site().located_at(args[c.arg].span);
            let mut s = slot(c.arg);
            s.set_span(at_arg);
            let checked = quote_spanned!(at_arg=> ::autodiff::__private::gradient(#s));
            out.extend(if c.first {
                quote!(let #target = #checked;)
            } else {
                quote!(let #target = ::autodiff::__private::accumulate(#target, #checked);)
            });
        }
        out
    }

    /// The full gradient of a parameter: its whole-value gradient (or zeros)
    /// plus the gradients of its fields.
    fn assembled_param_grad(&self, p: &ParamGrad) -> TokenStream {
        let r = self.ref_expr(p.node);
        if p.whole && p.fields.is_empty() {
            let g = grad_ident(&Target::Value(p.node));
            return quote!(::autodiff::__private::or_zeros(#g, #r));
        }
        if p.fields.is_empty() {
            return quote!(::autodiff::__private::zeros_like(#r));
        }
        // Field gradients move into an empty gradient (no zero-filling, no
        // sums when each field has one); what got none is zero-filled last.
        let whole = if p.whole {
            let g = grad_ident(&Target::Value(p.node));
            quote!(::autodiff::__private::or_empty(#g, #r))
        } else {
            quote!(::autodiff::__private::empty_like(#r))
        };
        let s = local("__s".into());
        let f = local("__f".into());
        let adds = p.fields.iter().map(|(field, path)| {
            let g = grad_ident(&Target::Field(*field));
            quote! {
                if let ::core::option::Option::Some(#f) = #g {
                    ::autodiff::__private::Gradient::accumulate(&mut #s #(.#path)*, #f);
                }
            }
        });
        // Spanned at the parameter, like the other calls that need
        // `Gradient`, so that one missing derive reads as one error there.
        let span = r.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span());
        let fill = quote_spanned!(span=> ::autodiff::__private::fill_like(#r, &mut #s););
        quote!({
            let mut #s = #whole;
            #(#adds)*
            #fill
            #s
        })
    }

    /// The output value, moved out at the end.
    fn output_value(&self) -> TokenStream {
        let id = self.graph.output;
        match &self.graph.nodes[id].kind {
            NodeKind::Call { .. } => value_ident(id).into_token_stream(),
            NodeKind::Item { tuple, index } => {
                let (v, index) = (value_ident(*tuple), syn::Index::from(*index));
                quote!(#v.#index)
            }
            NodeKind::Param(i) => self.param_ident(*i).into_token_stream(),
            _ => self.value_expr(id),
        }
    }
}

/// Everything emitted for a successfully analysed function.
pub fn emit(sig: &Signature<'_>, graph: &Graph, grad: &Adjoint, vjp: &Adjoint) -> TokenStream {
    let func = sig.func;
    let names = names(func);
    let e = Emitter { graph, sig };
    let grad_struct = grad_struct(func, sig, &names);
    let vis = &func.vis;
    let inputs = func.sig.inputs.iter();
    let output = output_type(func);
    let (grad_fn, grad_struct_ident) = (&names.grad_fn, &names.grad_struct);
    let fn_name = func.sig.ident.to_string();
    let fn_ident = &func.sig.ident;

    // A scalar output spelled `f32`/`f64` gets a plain function. Any other
    // output type gets the same function, generic over a marker whose bound
    // only scalars meet: an alias of `f64` works, and calling `_grad` of a
    // function returning an array is an error at the call, saying why.
    let (generics, bound, seed) = if sig.scalar_output {
        (quote!(), quote!(), None)
    } else {
        let scalar = local("__Scalar".into());
        (
            quote!(<#scalar>),
            quote!(where #output: ::autodiff::__private::ScalarOutput<#scalar>),
            Some(quote!(<#output as ::autodiff::__private::ScalarOutput<#scalar>>::one())),
        )
    };
    // The output is returned, so it is the one value never dropped.
    let body = plan(e.forward(), e.backward(grad, seed), e.storage(graph.output));
    let fields = grad.params.iter().filter(|p| sig.params[p.param].wrt).map(|p| {
        let ident = sig.params[p.param].ident;
        let value = e.assembled_param_grad(p);
        quote!(#ident: #value)
    });
    let value = e.output_value();
    let doc = format!(
        "The value of [`{fn_name}`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated."
    );
    let with_doc = format!(
        "[`{fn_name}_grad`] with its arrays taken from, and returned to, `workspace`: from the second call on, the step's own arrays come from the workspace instead of the heap. Give the gradients back with `workspace.recycle(...)` once used."
    );
    let workspace = local("__workspace".into());
    let grad_with_fn = &names.grad_with_fn;
    let turbofish = (!sig.scalar_output).then(|| {
        let scalar = local("__Scalar".into());
        quote!(::<#scalar>)
    });
    let args = sig.params.iter().map(|p| p.ident);
    let inputs_again = func.sig.inputs.iter();
    let grad_item = quote! {
        #[doc = #doc]
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis fn #grad_fn #generics (#(#inputs),*) -> (#output, #grad_struct_ident) #bound {
            // Calling only `_grad` uses the original function.
            let _ = #fn_ident;
            #(#body)*
            (#value, #grad_struct_ident { #(#fields),* })
        }

        #[doc = #with_doc]
        #[allow(dead_code, clippy::all)]
        #vis fn #grad_with_fn #generics (#workspace: &mut ::autodiff::__private::Workspace, #(#inputs_again),*) -> (#output, #grad_struct_ident) #bound {
            #workspace.run(move || #grad_fn #turbofish (#(#args),*))
        }
    };

    let vjp_signature = vjp_signature(func, sig, &names);
    let vjp_body = plan(e.forward(), e.backward(vjp, None), None);
    let results = vjp.params.iter().map(|p| {
        let param = &sig.params[p.param];
        if !param.wrt || (!p.whole && p.fields.is_empty()) {
            return quote!(::core::option::Option::None);
        }
        if p.fields.is_empty() {
            return grad_ident(&Target::Value(p.node)).into_token_stream();
        }
        let flag = local("__need".into());
        let i = proc_macro2::Literal::usize_unsuffixed(p.param);
        let value = e.assembled_param_grad(p);
        quote!(if #flag[#i] { ::core::option::Option::Some(#value) } else { ::core::option::Option::None })
    });
    let vjp_doc = format!(
        "The vector-Jacobian product of [`{fn_name}`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates)."
    );
    quote! {
        #func
        #grad_struct
        #grad_item
        #[doc = #vjp_doc]
        #[doc(hidden)]
        #[allow(dead_code, unused_variables, clippy::all)]
        #vjp_signature {
            let _ = #fn_ident;
            #(#vjp_body)*
            (#(#results,)*)
        }
    }
}

/// `fn NAME_vjp(params..., y: &Output, g: &Output, need: [bool; N]) -> (Option<G₁>, ...)`:
/// the module convention of the runtime (see `autodiff::modules`).
fn vjp_signature(func: &ItemFn, sig: &Signature<'_>, names: &Names) -> TokenStream {
    let vis = &func.vis;
    let vjp_fn = &names.vjp_fn;
    let inputs = func.sig.inputs.iter();
    let output = output_type(func);
    let slot_types = slot_types(sig);
    let n = proc_macro2::Literal::usize_unsuffixed(sig.params.len());
    let (gout, need) = (local("__gout".into()), local("__need".into()));
    quote! {
        #vis fn #vjp_fn(#(#inputs,)* _: &#output, #gout: #output, #need: [bool; #n]) -> (#(::core::option::Option<#slot_types>,)*)
    }
}

/// `NameGrad`: one public field per differentiated parameter.
fn grad_struct(func: &ItemFn, sig: &Signature<'_>, names: &Names) -> TokenStream {
    let vis = &func.vis;
    let ident = &names.grad_struct;
    let fields = sig.params.iter().filter(|p| p.wrt).map(|p| {
        let (name, ty) = (p.ident, p.grad_type());
        let doc = format!("∂output/∂`{name}`, with the shape of `{name}`.");
        quote!(#[doc = #doc] pub #name: #ty)
    });
    let doc = format!(
        "Gradients of [`{}`], one field per differentiated parameter.",
        func.sig.ident
    );
    // `Debug` and `Clone` are derived when every gradient is an array or a
    // float; a model struct's gradient is the struct, which may implement neither.
    let derives = sig
        .params
        .iter()
        .filter(|p| p.wrt)
        .all(|p| crate::parse::is_array_or_float(p.grad_type()))
        .then(|| quote!(#[derive(::core::fmt::Debug, ::core::clone::Clone)]));
    quote! {
        #[doc = #doc]
        #derives
        #[allow(dead_code)]
        #vis struct #ident { #(#fields,)* }
    }
}

/// What is emitted when the function has errors: the function unchanged, the
/// errors, and stubs of the generated items so that calls of `NAME_grad`
/// elsewhere don't add errors of their own.
pub fn fallback(func: &ItemFn, sig: Option<&Signature<'_>>, error: syn::Error) -> TokenStream {
    let names = names(func);
    let errors = error.to_compile_error();
    // A method sits in an `impl`, where a struct cannot be declared.
    if func.sig.receiver().is_some() {
        return quote!(#func #errors);
    }
    let vis = &func.vis;
    let (grad_fn, grad_with_fn, grad_struct_ident) = (&names.grad_fn, &names.grad_with_fn, &names.grad_struct);
    let (grad_struct, vjp_stub) = match sig {
        Some(sig) => {
            let signature = vjp_signature(func, sig, &names);
            let stub = quote! {
                #[allow(dead_code, unused_variables, clippy::all)]
                #[doc(hidden)]
                #signature { ::core::unreachable!() }
            };
            (grad_struct(func, sig, &names), stub)
        }
        None => (quote!(#vis struct #grad_struct_ident {}), quote!()),
    };
    let inputs: Vec<_> = func.sig.inputs.iter().collect();
    let output = output_type(func);
    quote! {
        #func
        #errors
        #grad_struct
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis fn #grad_fn(#(#inputs),*) -> (#output, #grad_struct_ident) {
            ::core::unreachable!()
        }
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis fn #grad_with_fn(_: &mut ::autodiff::__private::Workspace, #(#inputs),*) -> (#output, #grad_struct_ident) {
            ::core::unreachable!()
        }
        #vjp_stub
    }
}
