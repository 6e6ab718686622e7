//! The shells of the generated items: the gradient struct, the VJP's
//! signature, the generic parameters they repeat, the user's function as
//! emitted, and the stubs emitted beside a function with errors.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::visit_mut::VisitMut;
use syn::{ItemFn, ReturnType};

use super::idents::{self, Names};
use crate::ir::{Function, NegationSite};
use crate::signature::Signature;

/// The type of the VJP's gradient for each parameter: `NoGrad` for those
/// not differentiated.
pub(super) fn argument_gradient_types(sig: &Signature<'_>) -> Vec<TokenStream> {
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

/// The user's function as written; in a generic function, each `-x` of an
/// active value negates through the runtime, which needs only `F: Float`.
pub(super) fn original_function(func: &ItemFn, f: &Function, activity: &crate::activity::Activity) -> TokenStream {
    let varied: std::collections::HashSet<NegationSite> = f
        .negations
        .iter()
        .filter(|(_, operand)| !activity.need_of(operand).is_never())
        .map(|(site, _)| *site)
        .collect();
    if func.sig.generics.params.is_empty() || varied.is_empty() {
        return func.to_token_stream();
    }
    // Sites are numbered in the order a visit meets them; this visit
    // counts the same way (before rewriting a node's operand).
    struct Rewrite<'a> {
        next: usize,
        varied: &'a std::collections::HashSet<NegationSite>,
    }
    impl VisitMut for Rewrite<'_> {
        fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
            let site = match e {
                syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
                    self.next += 1;
                    Some(NegationSite(self.next - 1))
                }
                _ => None,
            };
            syn::visit_mut::visit_expr_mut(self, e);
            if let (Some(site), syn::Expr::Unary(u)) = (site, &*e)
                && self.varied.contains(&site)
            {
                let operand = &u.expr;
                let span = syn::spanned::Spanned::span(u);
                *e = syn::parse_quote_spanned!(span=> ::autodiff::__private::negate(#operand));
            }
        }
    }
    let mut copy = func.clone();
    Rewrite {
        next: 0,
        varied: &varied,
    }
    .visit_item_fn_mut(&mut copy);
    copy.into_token_stream()
}

/// The type of the upstream gradient a VJP receives: the output's, with one
/// `Option` per item of a tuple.
pub(super) fn upstream_type(func: &ItemFn) -> TokenStream {
    match &func.sig.output {
        ReturnType::Type(_, ty) => crate::signature::upstream_type(ty),
        ReturnType::Default => quote!(()),
    }
}

pub(super) fn output_type(func: &ItemFn) -> TokenStream {
    match &func.sig.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote!(()),
    }
}

/// `fn NAME_vjp(params..., y: &Output, g: Output, need: [bool; N]) -> (Option<G₁>, ...)`
/// (`g: (Option<A>, Option<B>)` for an output `(A, B)`): the module convention of the runtime (see `autodiff::modules`).
pub(super) fn vjp_signature(func: &ItemFn, sig: &Signature<'_>, names: &Names) -> TokenStream {
    let vis = &func.vis;
    let vjp_fn = &names.vjp_fn;
    let inputs = func.sig.inputs.iter();
    let output = output_type(func);
    let upstream = upstream_type(func);
    let argument_gradient_types = argument_gradient_types(sig);
    let n = proc_macro2::Literal::usize_unsuffixed(sig.params.len());
    let (y, gout, need) = (idents::local("__y"), idents::local("__gout"), idents::local("__need"));
    let g = FnGenerics::of(func);
    let (params, preds) = (&g.params, &g.preds);
    quote! {
        #vis fn #vjp_fn<#(#params),*>(#(#inputs,)* #y: &#output, #gout: #upstream, #need: [bool; #n]) -> (#(::core::option::Option<#argument_gradient_types>,)*)
        where #(#preds,)*
    }
}

/// `NameGrad`: one public field per differentiated parameter.
pub(super) fn grad_struct(func: &ItemFn, sig: &Signature<'_>, names: &Names) -> TokenStream {
    let vis = &func.vis;
    let ident = &names.grad_struct;
    let fields = sig.params.iter().filter(|p| p.wrt).map(|p| {
        let (name, ty) = (&p.ident, p.grad_type());
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
        .all(|p| crate::signature::is_array_or_float(&p.grad_type()))
        .then(|| quote!(#[derive(::core::fmt::Debug, ::core::clone::Clone)]));
    let g = FnGenerics::of(func);
    let (params, preds) = (&g.params, &g.preds);
    let marker = g.marker.as_ref().map(|ty| quote!(#[doc(hidden)] pub __marker: #ty,));
    quote! {
        #[doc = #doc]
        #derives
        #[allow(dead_code)]
        #vis struct #ident<#(#params),*> where #(#preds,)* { #(#fields,)* #marker }
    }
}

/// `MethodGrad<ReceiverGradient, (OtherGradients,)>` for a method's `_grad`.
pub(super) fn method_grad_type(sig: &Signature<'_>) -> TokenStream {
    let receiver = sig.params.iter().find(|p| p.wrt && p.ident == "self").map_or_else(
        || quote!(()),
        |p| {
            let ty = p.grad_type();
            quote!(#ty)
        },
    );
    let args = sig
        .params
        .iter()
        .filter(|p| p.wrt && p.ident != "self")
        .map(|p| p.grad_type());
    quote!(::autodiff::__private::MethodGrad<#receiver, (#(#args,)*)>)
}

/// The function's generic parameters, as the generated items repeat them.
pub(super) struct FnGenerics {
    /// As declared: `'a`, `F: Float`, `const N: usize`.
    pub params: Vec<TokenStream>,
    /// The `where` predicates.
    pub preds: Vec<TokenStream>,
    /// The type and const parameters' names, for a turbofish.
    pub type_args: Vec<TokenStream>,
    /// All parameters' names, for the gradient struct's type.
    args: Vec<TokenStream>,
    /// A `PhantomData` that uses every parameter, for the gradient struct.
    pub marker: Option<TokenStream>,
}

impl FnGenerics {
    pub fn of(func: &ItemFn) -> FnGenerics {
        let generics = &func.sig.generics;
        let params = generics.params.iter().map(|p| p.to_token_stream()).collect();
        let preds = generics
            .where_clause
            .iter()
            .flat_map(|w| w.predicates.iter().map(|p| p.to_token_stream()))
            .collect();
        let mut type_args = Vec::new();
        let mut args = Vec::new();
        let mut uses = Vec::new();
        for p in &generics.params {
            match p {
                syn::GenericParam::Lifetime(l) => {
                    let l = &l.lifetime;
                    args.push(quote!(#l));
                    uses.push(quote!(&#l ()));
                }
                syn::GenericParam::Type(t) => {
                    let t = &t.ident;
                    args.push(quote!(#t));
                    type_args.push(quote!(#t));
                    uses.push(quote!(#t));
                }
                syn::GenericParam::Const(c) => {
                    let c = &c.ident;
                    args.push(quote!(#c));
                    type_args.push(quote!(#c));
                }
            }
        }
        let marker = (!uses.is_empty()).then(|| quote!(::core::marker::PhantomData<fn() -> (#(#uses,)*)>));
        FnGenerics {
            params,
            preds,
            type_args,
            args,
            marker,
        }
    }

    /// `<'a, F>` for the gradient struct's type, or nothing.
    pub fn struct_args(&self) -> TokenStream {
        if self.args.is_empty() {
            quote!()
        } else {
            let args = &self.args;
            quote!(<#(#args),*>)
        }
    }
}

/// What is emitted when the function has errors: the function unchanged, the
/// errors, and stubs of the generated items so that calls of `NAME_grad`
/// elsewhere don't add errors of their own.
pub fn fallback(func: &ItemFn, sig: Option<&Signature<'_>>, error: syn::Error) -> TokenStream {
    let names = idents::names(func);
    let errors = error.to_compile_error();
    // A method sits in an `impl`, where a struct cannot be declared.
    if func.sig.receiver().is_some() {
        return quote!(#func #errors);
    }
    let vis = &func.vis;
    let (grad_fn, grad_with_fn, grad_struct_ident) = (&names.grad_fn, &names.grad_with_fn, &names.grad_struct);
    let (source_const, graphs_const) = (&names.source_const, &names.graphs_const);
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
    // A borrowed output (an error already reported) would need a lifetime
    // in the stubs, which take one more reference.
    let output = match &func.sig.output {
        ReturnType::Type(_, ty) if matches!(crate::signature::ungroup(ty), syn::Type::Reference(_)) => quote!(()),
        _ => output_type(func),
    };
    let g = FnGenerics::of(func);
    let (params, preds) = (&g.params, &g.preds);
    let struct_args = if sig.is_some() { g.struct_args() } else { quote!() };
    quote! {
        #func
        #errors
        #grad_struct
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis fn #grad_fn<#(#params),*>(#(#inputs),*) -> (#output, #grad_struct_ident #struct_args) where #(#preds,)* {
            ::core::unreachable!()
        }
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis fn #grad_with_fn<#(#params),*>(_: &mut ::autodiff::__private::Workspace, #(#inputs),*) -> (#output, #grad_struct_ident #struct_args) where #(#preds,)* {
            ::core::unreachable!()
        }
        #[allow(dead_code)]
        #vis const #source_const: &str = "";
        #[allow(dead_code)]
        #vis const #graphs_const: ::autodiff::__private::Graphs =
            ::autodiff::__private::Graphs { forward: "", gradient: "" };
        #vjp_stub
    }
}
