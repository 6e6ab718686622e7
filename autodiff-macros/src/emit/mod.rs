//! Prints the analysed function as Rust: the untouched function, `NameGrad`,
//! `NAME_grad` (value and gradients of a scalar function), `NAME_grad_with`,
//! and `NAME_vjp` (the function as a module, so other differentiable
//! functions can call it). Everything it prints was decided before: the
//! program by `reverse`, where values live and which gradient each VJP result
//! adds to by `plan`, where hooks fire by `hooks`.
//!
//! Its rooms: [`idents`] makes every generated name, [`items`] the shells of
//! the items, [`forward`] and [`backward`] the two passes; this file puts
//! the body of each function together.
//!
//! Emitted code names the runtime only through `::autodiff::__private` and the
//! standard library only through `::core`. Every forward and VJP call carries
//! the span of the user's call, so type errors point at the user's code.
//! Constant code keeps the user's own names.

mod backward;
mod forward;
mod idents;
mod items;
mod tangent;

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Ident;

pub use idents::names;
pub use items::fallback;

use crate::hooks::Hooks;
use crate::ir::{Function, VarKind};
use crate::plan::{Plan, Statement, Storage, Target};
use crate::program::Program;
use crate::signature::Signature;
use items::{FnGenerics, grad_struct, method_grad_type, original_function, output_type, vjp_signature};

/// Which function the backward pass is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `NAME_grad`: the `wrt` parameters, known at compile time.
    Grad,
    /// `NAME_vjp`: the same parameters, each gated by a run-time flag `need[i]`.
    Vjp,
}

struct Emitter<'g> {
    f: &'g Function,
    sig: &'g Signature<'g>,
    program: &'g Program,
    plan: &'g Plan,
    mode: Mode,
    /// Where the backward pass of `NAME_grad` reports to a gradient hook.
    hooks: &'g Hooks,
    /// Whether to print the checks of anomaly mode (left out of the text of
    /// `NAME_GRAD_SOURCE`, which shows the algorithm).
    checks: bool,
    /// Every value and gradient gets a twin holding its tangent (`hvp`),
    /// with the parameters' tangents from there.
    tangent: Option<tangent::ParamTangents>,
    /// Only the forward pass (`NAME_jvp`, `NAME_tangent`).
    forward_only: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Forward,
    Backward,
}

impl Emitter<'_> {
    pub(super) fn param_ident(&self, index: usize) -> &Ident {
        &self.sig.params[index].ident
    }

    /// The body of `NAME_grad` or `NAME_vjp`: declarations, the forward pass,
    /// the backward pass from `seed`, and what is recycled.
    pub(super) fn body(&self, seed: TokenStream) -> (Vec<TokenStream>, BTreeSet<Target>) {
        let ret = self.f.ret;
        let mut declarations = Vec::new();
        if let Some(source) = self.tangent {
            declarations.push(self.param_tangents(source));
        }
        // Slots and stacks, before the forward pass.
        for &var in &self.plan.slots {
            let v = idents::value(self.f, var);
            let ty = self
                .f
                .vars
                .get(var)
                .and_then(|v| v.ty.as_ref())
                .map(|ty| quote!(: ::core::option::Option<#ty>));
            declarations.push(quote!(let mut #v #ty = ::core::option::Option::None;));
            if self.tangent.is_some() {
                let t = idents::tangent(&v);
                let ty = self
                    .f
                    .vars
                    .get(var)
                    .and_then(|v| v.ty.as_ref())
                    .map(|ty| quote!(: ::core::option::Option<::core::option::Option<#ty>>));
                declarations.push(quote!(let mut #t #ty = ::core::option::Option::None;));
            }
            if let Storage::Slot { saved: true } = self.plan.storage[var] {
                let s = idents::value_stack(self.f, var);
                declarations.push(quote!(let mut #s = ::autodiff::__private::Stack::new();));
                if self.tangent.is_some() {
                    let t = idents::tangent(&s);
                    declarations.push(quote!(let mut #t = ::autodiff::__private::Stack::new();));
                }
            }
        }
        declarations.extend(self.stacks(&self.program.nodes));
        if self.f.early_return {
            let exit = idents::exit();
            declarations.push(quote!(let mut #exit: u32 = 0;));
        }

        // Forward statements (top level), with the locals they touch.
        let mut forward = Vec::new();
        for node in &self.program.nodes {
            forward.push(Statement {
                code: self.forward_node(node),
                locals: self.plan.locals_in(std::slice::from_ref(node)),
            });
        }
        if self.f.early_return {
            let label = idents::forward_label();
            let code: TokenStream = forward.drain(..).map(|s| s.code).collect();
            forward.push(Statement {
                code: quote!(#label: { #code }),
                locals: vec![],
            });
        }

        // The backward pass.
        let mut backward = Vec::new();
        let mut targets = self.plan.gradients.clone();
        if self.forward_only {
            targets.clear();
        }
        if !targets.is_empty() {
            let mut declared = BTreeSet::new();
            let g = idents::gradient(self.f, &Target::Value(ret));
            let twin = self.tangent.is_some();
            let g_twin = idents::tangent(&g);
            if self.plan.upfront {
                let all = targets
                    .iter()
                    .filter(|t| !matches!(t, Target::Indexed { .. }))
                    .flat_map(|t| {
                        let g = idents::gradient(self.f, t);
                        let t = twin.then(|| idents::tangent(&g));
                        std::iter::once(g).chain(t)
                    });
                // The whole gradient of each model whose layers a loop visits.
                let models: BTreeSet<crate::ir::VarId> = targets
                    .iter()
                    .filter_map(|t| match t {
                        Target::Indexed { param, .. } => Some(*param),
                        _ => None,
                    })
                    .collect();
                let models = models.into_iter().map(|p| {
                    let (g, r) = (idents::model_gradient(self.f, p), self.value_ref(p));
                    // The user's accesses of each layer's fields, on a layer
                    // typed as the loop's (`&Layer`): a field that does not
                    // exist makes the gradient of the error type, so that
                    // rustc reports the user's access alone.
                    let accesses = targets.iter().filter_map(|t| match t {
                        Target::Indexed { param, list, rest, .. } if *param == p && !rest.members().is_empty() => {
                            let (list, rest) = (idents::user_members(list), idents::user_members(rest));
                            // `&__e.w` itself, not a function of it: the
                            // closure's type is then that of the access.
                            Some(quote! {
                                ::core::option::Option::map(<[_]>::first(&#r #(.#list)*), |__e| &__e #(.#rest)*)
                            })
                        }
                        _ => None,
                    });
                    let probe = quote!((#(#accesses,)*));
                    let empty = quote!(::autodiff::__private::probed(::autodiff::__private::empty_like(#r), #probe));
                    let t = twin.then(|| {
                        let t = idents::tangent(&g);
                        quote!(let mut #t = #empty;)
                    });
                    quote!(let mut #g = #empty; #t)
                });
                // The seed's tangent is zero: `None`.
                let t = twin.then(|| {
                    let seed_twin = self.seed_twin();
                    quote!(#g_twin = #seed_twin;)
                });
                backward.push(Statement {
                    code: quote!(#(let mut #all = ::core::option::Option::None;)* #(#models)* #g = ::core::option::Option::Some(#seed); #t),
                    locals: vec![ret],
                });
            } else {
                declared.insert(Target::Value(ret));
                let t = twin.then(|| {
                    let seed_twin = self.seed_twin();
                    quote!(let #g_twin = #seed_twin;)
                });
                backward.push(Statement {
                    code: quote!(let #g = ::core::option::Option::Some(#seed); #t),
                    locals: vec![ret],
                });
            }
            if self.plan.upfront {
                let code = self.backward_top(&self.program.nodes, &mut declared);
                backward.push(Statement {
                    code,
                    locals: self.plan.locals_in(&self.program.nodes),
                });
            } else {
                for (m, node) in self.program.nodes.iter().enumerate().rev() {
                    let mut code = self.backward_node(node, None, &mut declared);
                    if code.is_empty() {
                        continue;
                    }
                    code.extend(self.hook_events(m, &declared));
                    backward.push(Statement {
                        code,
                        locals: self.plan.locals_in(std::slice::from_ref(node)),
                    });
                }
            }
            // Only gradients that were declared exist.
            if !self.plan.upfront {
                targets = declared;
            }
        }
        let keep = (self.plan.storage[ret] == Storage::Local).then_some(ret);
        let mut body = declarations;
        let twin = self.tangent.is_some();
        let recycle = |v: &Ident| {
            let t = twin.then(|| {
                let t = idents::tangent(v);
                quote!(::autodiff::__private::recycle!(#t);)
            });
            quote!(::autodiff::__private::recycle!(#v); #t)
        };
        body.extend(crate::plan::recycle_after_last_use(forward, backward, keep, |v| {
            recycle(&idents::value(self.f, v))
        }));
        for &var in &self.plan.slots {
            if self.plan.storage[var] != Storage::Result {
                body.push(recycle(&idents::value(self.f, var)));
            }
        }
        (body, targets)
    }

    /// What a VJP returns, one `Option` per parameter: its gradient (with
    /// `twin`, the gradient's tangent), gated by its `need` flag.
    fn vjp_results(&self, targets: &BTreeSet<Target>, twin: bool) -> Vec<TokenStream> {
        let f = self.f;
        self.sig
            .params
            .iter()
            .enumerate()
            .map(|(i, param)| {
                let var = f
                    .vars
                    .iter()
                    .position(|v| v.kind == VarKind::Param(i))
                    .unwrap_or_default();
                let whole = targets.contains(&Target::Value(var));
                let has_fields = targets
                    .iter()
                    .any(|t| matches!(t, Target::Field(p, _) | Target::Indexed { param: p, .. } if *p == var));
                if !param.wrt || (!whole && !has_fields) {
                    return quote!(::core::option::Option::None);
                }
                if !has_fields {
                    return self.gradient_ident(&Target::Value(var), twin).into_token_stream();
                }
                let flag = idents::local("__need");
                let index = proc_macro2::Literal::usize_unsuffixed(i);
                let value = self.assembled_param_grad(i, targets, twin);
                quote!(if #flag[#index] { ::core::option::Option::Some(#value) } else { ::core::option::Option::None })
            })
            .collect()
    }

    /// The tangent of the upstream gradient: `NAME_vjp_tangent`'s, or zero
    /// (`None`) for the seed of `NAME_hvp`.
    fn seed_twin(&self) -> TokenStream {
        match self.mode {
            Mode::Vjp => idents::tangent(&idents::local("__gout")).into_token_stream(),
            Mode::Grad => quote!(::core::option::Option::None),
        }
    }

    /// The result, moved out at the end.
    pub(super) fn output_value(&self) -> TokenStream {
        let v = idents::value(self.f, self.f.ret);
        match self.plan.storage[self.f.ret] {
            Storage::Local => v.into_token_stream(),
            _ => quote!(::core::option::Option::unwrap(#v)),
        }
    }

    /// The result's tangent, moved out at the end: an `Option` (`None`
    /// when it is zero).
    pub(super) fn output_tangent(&self) -> TokenStream {
        let t = idents::tangent(&idents::value(self.f, self.f.ret));
        match self.plan.storage[self.f.ret] {
            Storage::Local => t.into_token_stream(),
            _ => quote!(::core::option::Option::flatten(#t)),
        }
    }
}

/// The tangent functions of a function declared without `hvp`: stubs whose
/// call from a function with `hvp` is one error saying what to add.
fn without_tangents(func: &syn::ItemFn, sig: &Signature<'_>, output: &TokenStream) -> TokenStream {
    let vis = &func.vis;
    let inputs = func.sig.inputs.iter();
    let inputs2 = func.sig.inputs.iter();
    let g = FnGenerics::of(func);
    let (params, preds) = (&g.params, &g.preds);
    let upstream = items::upstream_type(func);
    let gradient_types = items::argument_gradient_types(sig);
    let n = proc_macro2::Literal::usize_unsuffixed(sig.params.len());
    let tangent_fn = idents::tangent_of(&func.sig.ident, func.sig.ident.span());
    let vjp_tangent_fn = idents::vjp_tangent_of(&func.sig.ident, func.sig.ident.span());
    let t = idents::local("__Tangents");
    let unreachable = quote!(::core::unreachable!("declared without `hvp`"));
    quote! {
        #[doc(hidden)]
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis fn #tangent_fn<#(#params,)* #t: ::autodiff::__private::DeclaredWithHvp>(#(#inputs,)* _: &#output, _: #t) -> ::core::option::Option<#output>
        where #(#preds,)*
        {
            #unreachable
        }

        #[doc(hidden)]
        #[allow(dead_code, unused_variables, clippy::all)]
        #vis fn #vjp_tangent_fn<#(#params,)* #t: ::autodiff::__private::DeclaredWithHvp>(
            #(#inputs2,)*
            _: #t,
            _: &#output,
            _: ::core::option::Option<&#output>,
            _: #upstream,
            _: ::core::option::Option<#upstream>,
            _: [bool; #n],
        ) -> ((#(::core::option::Option<#gradient_types>,)*), (#(::core::option::Option<#gradient_types>,)*))
        where #(#preds,)*
        {
            #unreachable
        }
    }
}

/// The inputs of a `_with` function: the function's, with `pattern: &mut
/// Workspace` first (after the receiver of a method).
fn inputs_with_workspace(func: &syn::ItemFn, sig: &Signature<'_>, pattern: TokenStream) -> Vec<TokenStream> {
    let mut inputs: Vec<TokenStream> = func.sig.inputs.iter().map(|i| i.to_token_stream()).collect();
    inputs.insert(
        usize::from(sig.is_method),
        quote!(#pattern: &mut ::autodiff::__private::Workspace),
    );
    inputs
}

/// The reversed program and its plan, and the forward-only ones.
pub struct Passes<'a> {
    pub program: &'a Program,
    pub plan: &'a Plan,
    pub forward: &'a Program,
    pub forward_plan: &'a Plan,
}

pub fn emit(
    sig: &Signature<'_>,
    f: &Function,
    passes: Passes<'_>,
    hooks: &Hooks,
    activity: &crate::activity::Activity,
    hvp: bool,
) -> TokenStream {
    let Passes {
        program,
        plan,
        forward,
        forward_plan,
    } = passes;
    let func = sig.func;
    let names = names(func);
    // `NAME_vjp` has no hook events: it runs inside another function's
    // backward pass.
    let no_hooks = Hooks::default();
    let grad_emitter = Emitter {
        f,
        sig,
        program,
        plan,
        mode: Mode::Grad,
        hooks,
        checks: true,
        tangent: None,
        forward_only: false,
    };
    let vjp_emitter = Emitter {
        mode: Mode::Vjp,
        hooks: &no_hooks,
        ..grad_emitter
    };
    let grad_struct = grad_struct(func, sig, &names);
    let vis = &func.vis;
    let output = output_type(func);
    let (grad_fn, grad_struct_ident) = (&names.grad_fn, &names.grad_struct);
    let fn_name = func.sig.ident.to_string();
    let fn_ident = &func.sig.ident;

    // A scalar output spelled `f32`/`f64` gets a plain function. Any other
    // output type gets the same function, generic over a marker whose bound
    // only scalars meet: an alias of `f64` works, and calling `_grad` of a
    // function returning an array is an error at the call, saying why.
    let g = FnGenerics::of(func);
    let (params, preds, type_args) = (&g.params, &g.preds, &g.type_args);
    let struct_args = g.struct_args();
    let (generics, bound, seed) = if sig.scalar_output {
        let output = grad_emitter.value_ref(f.ret);
        (
            quote!(<#(#params),*>),
            quote!(where #(#preds,)*),
            quote!(::autodiff::__private::seed(#output)),
        )
    } else {
        let scalar = idents::local("__Scalar");
        (
            quote!(<#(#params,)* #scalar>),
            quote!(where #(#preds,)* #output: ::autodiff::__private::ScalarOutput<#scalar>),
            quote!(<#output as ::autodiff::__private::ScalarOutput<#scalar>>::one()),
        )
    };
    let marker_init = g
        .marker
        .as_ref()
        .map(|_| quote!(__marker: ::core::marker::PhantomData,));
    let original = if sig.is_method {
        quote!(Self::#fn_ident::<#(#type_args),*>)
    } else {
        quote!(#fn_ident::<#(#type_args),*>)
    };
    let allow =
        quote!(#[allow(dead_code, unused_variables, unused_mut, unused_assignments, unreachable_code, clippy::all)]);
    // The traits of the anomaly checks' method calls, and whether anomaly
    // mode is on, once per body: each check is then a test of a local.
    let anomaly = idents::local("__anomaly");
    let anomaly_traits = quote!(
        #[allow(unused_imports)]
        use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
        let #anomaly = ::autodiff::__private::anomaly_enabled();
    );
    // A function with several outputs is a module only: its `_grad` is
    // declared with the bound that only scalars meet, so that calling it is
    // the error of an array output, and has no body to compile.
    let grad_type = if sig.is_method {
        method_grad_type(sig)
    } else {
        quote!(#grad_struct_ident #struct_args)
    };
    let tuple_output = matches!(&func.sig.output, syn::ReturnType::Type(_, ty)
        if matches!(crate::signature::ungroup(ty), syn::Type::Tuple(t) if !t.elems.is_empty()));
    let grad_item = if tuple_output {
        let inputs = func.sig.inputs.iter();
        let with_inputs = inputs_with_workspace(func, sig, quote!(_));
        let grad_with_fn = &names.grad_with_fn;
        let source_const = &names.source_const;
        let graphs_const = &names.graphs_const;
        quote! {
            #[doc(hidden)]
            #[allow(dead_code)]
            #vis const #source_const: &str = "";
            #[doc(hidden)]
            #[allow(dead_code)]
            #vis const #graphs_const: ::autodiff::__private::Graphs =
                ::autodiff::__private::Graphs { forward: "", gradient: "" };
            #[doc(hidden)]
            #[allow(dead_code, unused_variables, clippy::all)]
            #vis fn #grad_fn #generics (#(#inputs),*) -> (#output, #grad_type) #bound {
                ::core::unreachable!()
            }
            #[doc(hidden)]
            #[allow(dead_code, unused_variables, clippy::all)]
            #vis fn #grad_with_fn #generics (#(#with_inputs),*) -> (#output, #grad_type) #bound {
                ::core::unreachable!()
            }
        }
    } else {
        let (body, targets) = grad_emitter.body(seed.clone());
        // The gradient (or with `twin`, its tangent, H·v) as `NameGrad`.
        let assemble = |emitter: &Emitter, targets: &BTreeSet<Target>, twin: bool| {
            let fields: Vec<(&Ident, TokenStream)> = sig
                .params
                .iter()
                .enumerate()
                .filter(|(_, p)| p.wrt)
                .map(|(i, p)| {
                    let name = p.ident.to_string();
                    let value = emitter.assembled_param_grad(i, targets, twin);
                    // Through a probe: a type that is no gradient is reported once,
                    // by the assembly, not again here.
                    (&p.ident, quote!(::autodiff::__private::finished!(#name, #value)))
                })
                .collect();
            if sig.is_method {
                // A struct cannot be declared inside an `impl`: the receiver's
                // gradient is `self_`, the others' are `args`, in order.
                let receiver = fields
                    .iter()
                    .find(|(ident, _)| *ident == "self")
                    .map_or_else(|| quote!(()), |(_, v)| v.clone());
                let args = fields.iter().filter(|(ident, _)| *ident != "self").map(|(_, v)| v);
                quote!(::autodiff::__private::MethodGrad { self_: #receiver, args: (#(#args,)*) })
            } else {
                let fields = fields.iter().map(|(ident, value)| quote!(#ident: #value));
                quote!(#grad_struct_ident { #(#fields,)* #marker_init })
            }
        };
        let gradient = assemble(&grad_emitter, &targets, false);
        let second_order = hvp.then(|| {
            let hvp_emitter = Emitter {
                tangent: Some(tangent::ParamTangents::Direction),
                hooks: &no_hooks,
                checks: false,
                ..grad_emitter
            };
            let jvp_emitter = Emitter {
                forward_only: true,
                ..hvp_emitter
            };
            let (hvp_body, hvp_targets) = hvp_emitter.body(seed.clone());
            let (jvp_body, _) = jvp_emitter.body(seed.clone());
            let (value, tangent) = (jvp_emitter.output_value(), jvp_emitter.output_tangent());
            let (out, out_tangent) = (idents::local("__out"), idents::local("__out__t"));
            let gradient = assemble(&hvp_emitter, &hvp_targets, false);
            let hv = assemble(&hvp_emitter, &hvp_targets, true);
            let direction = idents::local("__direction");
            let inputs = func.sig.inputs.iter();
            let inputs2 = func.sig.inputs.iter();
            let (jvp_fn, hvp_fn) = (&names.jvp_fn, &names.hvp_fn);
            let (jvp_with_fn, hvp_with_fn) = (&names.jvp_with_fn, &names.hvp_with_fn);
            let workspace = idents::local("__workspace");
            let with_inputs = inputs_with_workspace(func, sig, workspace.to_token_stream());
            let turbofish = if sig.scalar_output {
                quote!(::<#(#type_args),*>)
            } else {
                let scalar = idents::local("__Scalar");
                quote!(::<#(#type_args,)* #scalar>)
            };
            let args: Vec<&Ident> = sig.params.iter().map(|p| &p.ident).filter(|i| *i != "self").collect();
            let (jvp_call, hvp_call) = if sig.is_method {
                (quote!(self.#jvp_fn #turbofish (#(#args,)* #direction)), quote!(self.#hvp_fn #turbofish (#(#args,)* #direction)))
            } else {
                (quote!(#jvp_fn #turbofish (#(#args,)* #direction)), quote!(#hvp_fn #turbofish (#(#args,)* #direction)))
            };
            let value_hvp = hvp_emitter.output_value();
            let jvp_doc = format!("The value of [`{fn_name}`] and its directional derivative ⟨∇f, v⟩ along `v`, in one forward pass carrying tangents (forward mode).");
            let hvp_doc = format!("The value of [`{fn_name}`], its gradient, and the Hessian-vector product H·v along `v`: the backward pass of [`{fn_name}_grad`] with the tangent of every statement beside it (forward-over-reverse).");
            let with_doc = "The same, with its arrays taken from, and returned to, `workspace`.";
            quote! {
                #[doc = #jvp_doc]
                #allow
                #vis fn #jvp_fn #generics (#(#inputs,)* #direction: &#grad_type) -> (#output, #output) #bound {
                    let _ = #original;
                    ::autodiff::__private::with_thread_workspace(move || {
                        #(#jvp_body)*
                        let #out = #value;
                        let #out_tangent = ::autodiff::__private::tangent_or_zeros(::core::option::Option::as_ref(&#tangent), &#out);
                        (#out, #out_tangent)
                    })
                }

                #[doc = #with_doc]
                #[allow(dead_code, clippy::all)]
                #vis fn #jvp_with_fn #generics (#(#with_inputs,)* #direction: &#grad_type) -> (#output, #output) #bound {
                    #workspace.run(move || #jvp_call)
                }

                #[doc = #hvp_doc]
                #allow
                #vis fn #hvp_fn #generics (#(#inputs2,)* #direction: &#grad_type) -> (#output, #grad_type, #grad_type) #bound {
                    let _ = #original;
                    ::autodiff::__private::with_thread_workspace(move || {
                        #(#hvp_body)*
                        (#value_hvp, #gradient, #hv)
                    })
                }

                #[doc = #with_doc]
                #[allow(dead_code, clippy::all)]
                #vis fn #hvp_with_fn #generics (#(#with_inputs,)* #direction: &#grad_type) -> (#output, #grad_type, #grad_type) #bound {
                    #workspace.run(move || #hvp_call)
                }
            }
        });
        let value = grad_emitter.output_value();
        let doc = format!(
            "The value of [`{fn_name}`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated."
        );
        let with_doc = format!(
            "[`{fn_name}_grad`] with its arrays taken from, and returned to, `workspace`: from the second call on, the step's own arrays come from the workspace instead of the heap. Give the gradients back with `workspace.recycle(...)` once used."
        );
        let workspace = idents::local("__workspace");
        let grad_with_fn = &names.grad_with_fn;
        let turbofish = if sig.scalar_output {
            quote!(::<#(#type_args),*>)
        } else {
            let scalar = idents::local("__Scalar");
            quote!(::<#(#type_args,)* #scalar>)
        };
        let args = sig.params.iter().map(|p| &p.ident).filter(|i| *i != "self");
        let call = if sig.is_method {
            quote!(self.#grad_fn #turbofish (#(#args),*))
        } else {
            quote!(#grad_fn #turbofish (#(#args),*))
        };
        let with_inputs = inputs_with_workspace(func, sig, workspace.to_token_stream());
        let grad_fn_item = |traits: Option<&TokenStream>, body: &[TokenStream]| {
            let inputs = func.sig.inputs.iter();
            quote! {
                #vis fn #grad_fn #generics (#(#inputs),*) -> (#output, #grad_type) #bound {
                    // Calling only `_grad` uses the original function.
                    let _ = #original;
                    ::autodiff::__private::with_thread_workspace(move || {
                        #traits
                        #(#body)*
                        (#value, #gradient)
                    })
                }
            }
        };
        let without_checks = Emitter {
            checks: false,
            ..grad_emitter
        };
        let source = crate::show::readable(grad_fn_item(None, &without_checks.body(seed.clone()).0));
        let grad_fn_item = grad_fn_item(Some(&anomaly_traits), &body);
        let doc = format!("{doc}\n\n# Generated code\n\n```text\n{source}```");
        let source_const = &names.source_const;
        let source_doc = format!(
            "The code of [`{fn_name}_grad`] as `#[differentiable]` generated it, pretty-printed (without the checks of anomaly mode)."
        );
        let wrt: Vec<bool> = sig.params.iter().map(|p| p.wrt).collect();
        let (forward_dot, gradient_dot) = crate::graph::dot(f, program, plan, &wrt);
        let graphs_const = &names.graphs_const;
        let graphs_doc = format!(
            "The forward graph of [`{fn_name}`] and its gradient graph (the graph [`{fn_name}_grad`] runs), in Graphviz DOT."
        );
        quote! {
            #[doc = #source_doc]
            #[allow(dead_code)]
            #vis const #source_const: &str = #source;

            #[doc = #graphs_doc]
            #[allow(dead_code)]
            #vis const #graphs_const: ::autodiff::__private::Graphs =
                ::autodiff::__private::Graphs { forward: #forward_dot, gradient: #gradient_dot };

            #[doc = #doc]
            #allow
            #grad_fn_item

            #[doc = #with_doc]
            #[allow(dead_code, clippy::all)]
            #vis fn #grad_with_fn #generics (#(#with_inputs),*) -> (#output, #grad_type) #bound {
                #workspace.run(move || #call)
            }

            #second_order
        }
    };
    let forward_item = (!tuple_output).then(|| {
        let emitter = Emitter {
            program: forward,
            plan: forward_plan,
            hooks: &no_hooks,
            forward_only: true,
            ..grad_emitter
        };
        let (body, _) = emitter.body(quote!());
        let value = emitter.output_value();
        let with_fn = &names.with_fn;
        let workspace = idents::local("__workspace");
        let inputs = inputs_with_workspace(func, sig, workspace.to_token_stream());
        let doc = format!(
            "[`{fn_name}`] with its arrays taken from, and returned to, `workspace`: the same value, from the steps of [`{fn_name}_grad`]'s forward pass, each array given back to the workspace once the pass is done with it, so that from the second call on an evaluation (a validation loss, a prediction) allocates nothing."
        );
        // `#[inline]`: compiled only where it is called, so that a crate that
        // never evaluates this way does not pay for it in build time.
        quote! {
            #[doc = #doc]
            #[inline]
            #allow
            #vis fn #with_fn <#(#params),*> (#(#inputs),*) -> #output where #(#preds,)* {
                let _ = #original;
                #workspace.run(move || {
                    #anomaly_traits
                    #(#body)*
                    #value
                })
            }
        }
    });

    let vjp_signature = vjp_signature(func, sig, &names);
    let (vjp_body, vjp_targets) = vjp_emitter.body(idents::local("__gout").into_token_stream());
    let second_order = if hvp {
        let tangent_emitter = Emitter {
            tangent: Some(tangent::ParamTangents::Tuple),
            checks: false,
            ..vjp_emitter
        };
        let forward_emitter = Emitter {
            forward_only: true,
            ..tangent_emitter
        };
        let vis = &func.vis;
        let inputs = func.sig.inputs.iter();
        let g = FnGenerics::of(func);
        let (params, preds) = (&g.params, &g.preds);
        let upstream = items::upstream_type(func);
        let tangent_types = sig.params.iter().map(|p| {
            let ty = p.ty;
            quote!(::core::option::Option<#ty>)
        });
        let tangent_types: Vec<TokenStream> = tangent_types.collect();
        let gradient_types = items::argument_gradient_types(sig);
        let n = proc_macro2::Literal::usize_unsuffixed(sig.params.len());
        let (tangents, gout, need) = (
            idents::local("__tangents"),
            idents::local("__gout"),
            idents::local("__need"),
        );
        let gout_twin = idents::tangent(&gout);
        let tangent_fn = idents::tangent_of(&func.sig.ident, func.sig.ident.span());
        let vjp_tangent_fn = idents::vjp_tangent_of(&func.sig.ident, func.sig.ident.span());
        let (forward_body, _) = forward_emitter.body(quote!(()));
        let forward_tangent = forward_emitter.output_tangent();
        let (body, targets) = tangent_emitter.body(gout.clone().into_token_stream());
        let results = tangent_emitter.vjp_results(&targets, false);
        let twins = tangent_emitter.vjp_results(&targets, true);
        let inputs2 = func.sig.inputs.iter();
        let doc = format!(
            "The JVP of [`{fn_name}`] (the tangent of its output, given its inputs' tangents): the module convention's tangent rule, for the `hvp` functions of callers."
        );
        let vjp_doc = format!(
            "The VJP of [`{fn_name}`] and its tangent (the JVP of the VJP), given the inputs' tangents and the upstream gradient's: the module convention's, for the `hvp` functions of callers."
        );
        quote! {
            #[doc = #doc]
            #[doc(hidden)]
            #[inline]
            #allow
            #vis fn #tangent_fn<#(#params),*>(#(#inputs,)* _: &#output, #tangents: (#(#tangent_types,)*)) -> ::core::option::Option<#output>
            where #(#preds,)*
            {
                let _ = #original;
                #(#forward_body)*
                #forward_tangent
            }

            #[doc = #vjp_doc]
            #[doc(hidden)]
            #[inline]
            #allow
            #vis fn #vjp_tangent_fn<#(#params),*>(
                #(#inputs2,)*
                #tangents: (#(#tangent_types,)*),
                _: &#output,
                _: ::core::option::Option<&#output>,
                #gout: #upstream,
                #gout_twin: ::core::option::Option<#upstream>,
                #need: [bool; #n],
            ) -> ((#(::core::option::Option<#gradient_types>,)*), (#(::core::option::Option<#gradient_types>,)*))
            where #(#preds,)*
            {
                let _ = #original;
                #(#body)*
                ((#(#results,)*), (#(#twins,)*))
            }
        }
    } else {
        without_tangents(func, sig, &output)
    };
    let results = vjp_emitter.vjp_results(&vjp_targets, false);
    let vjp_doc = format!(
        "The vector-Jacobian product of [`{fn_name}`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates)."
    );
    let func = original_function(func, f, activity);
    let grad_struct = (!sig.is_method).then_some(grad_struct);
    quote! {
        #func
        #grad_struct
        #grad_item
        #forward_item
        #[doc = #vjp_doc]
        #[doc(hidden)]
        #[inline]
        #allow
        #vjp_signature {
            let _ = #original;
            #anomaly_traits
            #(#vjp_body)*
            (#(#results,)*)
        }
        #second_order
    }
}
