//! Emits the code: the untouched function, `NameGrad`, `NAME_grad` (value and
//! gradients of a scalar function) and `NAME_vjp` (the function as a module, so
//! other differentiable functions can call it).
//!
//! Emitted code names the runtime only through `::autodiff::__private` and the
//! standard library only through `::core`. Generated locals (`__v3` for a
//! value, `__g3` its gradient, `__s3` its saved values, `__l1` a loop's record)
//! are `Span::mixed_site()` so they never collide with the user's names; every
//! forward and VJP call carries the span of the user's call, so type errors
//! point at the user's code. Constant code keeps the user's own names.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::visit_mut::VisitMut;
use syn::{Ident, ItemFn, ReturnType};

use crate::activity::Need;
use crate::ir::{
    BranchId, Callee, ExitKind, Function, LoopId, LoopKind, NegationSite, Opaque, SiteId, VarId, VarKind, match_reads,
};
use crate::plan::{Plan, Statement, Storage};
use crate::reverse::{Hoist, Node, Operand, Program, Step, Value};
use crate::signature::Signature;

/// The names of the generated items, spanned at the function's name.
pub struct Names {
    pub grad_fn: Ident,
    pub grad_with_fn: Ident,
    pub grad_struct: Ident,
    pub vjp_fn: Ident,
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
        grad_fn: format_ident!("{}_grad", plain, span = ident.span()),
        grad_with_fn: format_ident!("{}_grad_with", plain, span = ident.span()),
        grad_struct: format_ident!("{}Grad", camel, span = ident.span()),
        vjp_fn: format_ident!("{}_vjp", plain, span = ident.span()),
        source_const: format_ident!("{}_GRAD_SOURCE", plain.to_uppercase(), span = ident.span()),
        graphs_const: format_ident!("{}_GRAPHS", plain.to_uppercase(), span = ident.span()),
    }
}

fn local(name: String) -> Ident {
    Ident::new(&name, Span::mixed_site())
}

/// `_h` for a variable the user named `h`, so that the generated code reads
/// like the function it came from; nothing for values the passes introduce.
fn user_suffix(f: &Function, var: VarId) -> String {
    // Temporaries of nested calls are numbered past the IR's variables.
    let Some(v) = f.vars.get(var) else {
        return String::new();
    };
    let named = matches!(v.kind, VarKind::Param(_) | VarKind::Local | VarKind::Layer { .. });
    let name = v.name.trim_start_matches("r#");
    if named && !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("_{name}")
    } else {
        String::new()
    }
}

fn var_ident(f: &Function, var: VarId) -> Ident {
    local(format!("__v{var}{}", user_suffix(f, var)))
}

fn stack_ident(f: &Function, var: VarId) -> Ident {
    local(format!("__s{var}{}", user_suffix(f, var)))
}

fn hoist_ident(id: usize) -> Ident {
    local(format!("__k{id}"))
}

fn hoist_stack(id: usize) -> Ident {
    local(format!("__sk{id}"))
}

fn loop_stack(id: LoopId) -> Ident {
    local(format!("__l{id}"))
}

fn loop_site(id: LoopId) -> Ident {
    local(format!("__x{id}"))
}

fn branch_stack(id: BranchId) -> Ident {
    local(format!("__b{id}"))
}

fn exit_ident() -> Ident {
    local("__exit".into())
}

fn forward_label() -> syn::Lifetime {
    syn::Lifetime {
        apostrophe: Span::mixed_site(),
        ident: local("__forward".into()),
    }
}

/// Where a gradient contribution is added.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// The gradient of a variable's current value.
    Value(VarId),
    /// Of output `k` of a tuple variable.
    Item(VarId, usize),
    /// Of a field (path) of a parameter struct.
    Field(VarId, String),
    /// Of `rest` in the element, visited by loop `loop_id`, of the list
    /// `param.path` (`model.layers[i].w`): accumulated in place into the
    /// parameter's whole gradient.
    Indexed {
        param: VarId,
        loop_id: LoopId,
        path: String,
        rest: String,
    },
}

fn grad_ident(f: &Function, target: &Target) -> Ident {
    match target {
        Target::Value(v) => local(format!("__g{v}{}", user_suffix(f, *v))),
        Target::Item(v, k) => local(format!("__g{v}_{k}")),
        Target::Field(v, path) => local(format!("__g{v}{}__{}", user_suffix(f, *v), path.replace('.', "__"))),
        Target::Indexed { param, .. } => model_grad_ident(f, *param),
    }
}

/// The whole gradient of a parameter whose layers receive gradients in a loop.
fn model_grad_ident(f: &Function, param: VarId) -> Ident {
    local(format!("__gm{param}{}", user_suffix(f, param)))
}

fn index_ident(loop_id: LoopId) -> Ident {
    local(format!("__i{loop_id}"))
}

fn index_stack(loop_id: LoopId) -> Ident {
    local(format!("__ix{loop_id}"))
}

fn members(path: &str) -> Vec<Ident> {
    path.split('.')
        .filter(|m| !m.is_empty())
        .map(|m| Ident::new(m, Span::call_site()))
        .collect()
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
    /// Gradients are declared before the backward pass (`let mut __g = None`)
    /// and accumulated in place; a body without loops, branches or `return`
    /// binds each with `let` at its first contribution instead.
    upfront: bool,
    /// Every gradient that receives a contribution or the seed.
    targets: BTreeSet<Target>,
    /// The loop variable of each loop over layers, as the user named it.
    layers: &'g std::collections::HashMap<VarId, (Ident, LoopId, VarId, Vec<Ident>)>,
    /// Where the backward pass of `NAME_grad` reports to a gradient hook.
    hooks: &'g Hooks,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Forward,
    Backward,
}

impl Emitter<'_> {
    fn param_ident(&self, index: usize) -> &Ident {
        &self.sig.params[index].ident
    }

    /// An expression of type `&T` for a variable's current value.
    fn value_ref(&self, var: VarId) -> TokenStream {
        match self.plan.storage[var] {
            Storage::Param(i) => {
                let ident = self.param_ident(i);
                if self.sig.params[i].is_ref {
                    quote!(#ident)
                } else {
                    quote!(&#ident)
                }
            }
            Storage::Local => {
                let v = var_ident(self.f, var);
                quote!(&#v)
            }
            Storage::Slot { .. } | Storage::Result => {
                let v = var_ident(self.f, var);
                quote!(::autodiff::__private::live(&#v))
            }
            Storage::Item(tuple, k) => {
                let t = self.value_ref(tuple);
                let k = syn::Index::from(k);
                quote!(&(#t).#k)
            }
            Storage::Layer => self.layer_ident(var).into_token_stream(),
            // Never read by generated code: constant operands are tokens or hoisted.
            Storage::Constant => {
                let name = local(format!("__constant{var}"));
                quote!(&#name)
            }
        }
    }

    fn layer_ident(&self, var: VarId) -> Ident {
        self.layers
            .get(&var)
            .map_or_else(|| local(format!("__layer{var}")), |(ident, ..)| ident.clone())
    }

    fn operand(&self, op: &Operand, phase: Phase) -> TokenStream {
        match op {
            Operand::Var { var, by_ref, .. } => {
                let r = self.value_ref(*var);
                match self.plan.storage[*var] {
                    _ if *by_ref => r,
                    Storage::Param(i) if self.sig.params[i].is_ref => r,
                    // The loop variable of a loop over layers is a reference.
                    Storage::Layer => r,
                    // Method syntax: the receiver, not the parameter the copy
                    // is passed to, decides the type (a `&Array2` argument to
                    // a module taking `&ArrayRef2` then coerces).
                    _ => quote!((#r).clone()),
                }
            }
            Operand::Field {
                param, path, by_ref, ..
            } => {
                let base = match self.plan.storage[*param] {
                    Storage::Param(i) => self.param_ident(i).to_token_stream(),
                    Storage::Layer => self.layer_ident(*param).into_token_stream(),
                    _ => quote!(()),
                };
                if *by_ref {
                    quote!(&#base #(.#path)*)
                } else {
                    quote!((&#base #(.#path)*).clone())
                }
            }
            Operand::Const {
                tokens, by_ref, hoist, ..
            } => match hoist {
                None if *by_ref => quote!(&(#tokens)),
                None => tokens.clone(),
                Some(h) => {
                    let k = hoist_ident(h.id);
                    match (h.is_reference, *by_ref, phase) {
                        (true, _, _) => quote!(#k),
                        (false, true, _) => quote!(&#k),
                        (false, false, Phase::Forward) => quote!((&#k).clone()),
                        (false, false, Phase::Backward) => quote!(#k),
                    }
                }
            },
        }
    }

    /// A hoisted constant is stored per use when it is inside a region, or
    /// when the forward pass is a labelled block that its locals cannot outlive.
    fn stacked(&self, step: &Step) -> bool {
        step.depth > 0 || self.f.early_return
    }

    fn hoists<'s>(&self, step: &'s Step) -> Vec<&'s Hoist> {
        let args: Vec<&Operand> = match &step.value {
            Value::Call { args, .. } => args.iter().collect(),
            Value::Copy(a) => vec![a],
            Value::Const(_) => vec![],
        };
        args.into_iter()
            .filter_map(|a| match a {
                Operand::Const { hoist: Some(h), .. } => Some(h),
                _ => None,
            })
            .collect()
    }

    /// `f(args)`, or `receiver.method(rest)` for a method, and with
    /// `vjp_tail` (`&y, g, need`) the VJP call `f_vjp(args, &y, g, need)`.
    fn call(&self, callee: &Callee, args: Vec<TokenStream>, vjp_tail: Option<TokenStream>, span: Span) -> TokenStream {
        let vjp = vjp_tail.is_some();
        let tail = vjp_tail.into_iter();
        match callee {
            Callee::Module(path) => {
                let mut path = path.clone();
                if vjp && let Some(last) = path.segments.last_mut() {
                    last.ident = format_ident!("{}_vjp", last.ident, span = last.ident.span());
                }
                quote_spanned!(span=> #path(#(#args,)* #(#tail)*))
            }
            Callee::Op(op) => {
                let name = Ident::new(op.module_name(), span);
                let name = if vjp {
                    format_ident!("{}_vjp", name, span = span)
                } else {
                    name
                };
                quote_spanned!(span=> ::autodiff::__private::#name(#(#args,)* #(#tail)*))
            }
            Callee::Method { method, turbofish } => {
                let method = if vjp {
                    format_ident!("{}_vjp", method, span = method.span())
                } else {
                    method.clone()
                };
                let mut args = args.into_iter();
                let receiver = args.next().unwrap_or_default();
                quote_spanned!(span=> (#receiver).#method #turbofish (#(#args,)* #(#tail)*))
            }
        }
    }

    fn step_forward(&self, step: &Step) -> TokenStream {
        let mut out = TokenStream::new();
        for h in self.hoists(step) {
            let (k, value) = (hoist_ident(h.id), &h.value);
            out.extend(quote!(let #k = #value;));
        }
        let value = match &step.value {
            Value::Call { callee, args, .. } => {
                let args = args.iter().map(|a| self.operand(a, Phase::Forward)).collect();
                self.call(callee, args, None, step.span)
            }
            Value::Copy(a) => {
                let r = match a {
                    Operand::Var { var, .. } => self.value_ref(*var),
                    other => self.operand(other, Phase::Forward),
                };
                quote!(::core::clone::Clone::clone(#r))
            }
            Value::Const(tokens) => tokens.clone(),
        };
        let v = var_ident(self.f, step.var);
        let new = local("__new".into());
        out.extend(match self.plan.storage[step.var] {
            Storage::Local => {
                let ty = self
                    .f
                    .vars
                    .get(step.var)
                    .and_then(|var| var.ty.as_ref())
                    .map(|ty| quote!(: #ty));
                quote_spanned!(step.span=> let #v #ty = #value;)
            }
            Storage::Slot { saved: true } => {
                let s = stack_ident(self.f, step.var);
                quote!(let #new = #value; ::autodiff::__private::save(&mut #v, &mut #s, #new);)
            }
            Storage::Slot { saved: false } => {
                quote!(let #new = #value; ::autodiff::__private::recycle!(::autodiff::__private::set(&mut #v, #new));)
            }
            Storage::Result => quote!(#v = ::core::option::Option::Some(#value);),
            Storage::Param(_) | Storage::Item(..) | Storage::Layer | Storage::Constant => quote!(),
        });
        if let (Value::Call { callee, .. }, Storage::Local | Storage::Slot { .. } | Storage::Result) =
            (&step.value, &self.plan.storage[step.var])
        {
            // Located at the user's call: the check reports it through `#[track_caller]`.
            let (value, module) = (self.value_ref(step.var), callee.module_name());
            out.extend(quote_spanned!(step.span=> (&::autodiff::__private::Probe(#value)).check_forward(#module);));
        }
        if step.reversed && self.stacked(step) {
            for h in self.hoists(step) {
                let (k, s) = (hoist_ident(h.id), hoist_stack(h.id));
                out.extend(quote!(#s.push(#k);));
            }
        }
        out
    }

    fn need_expr(&self, need: &Need) -> TokenStream {
        match (need, self.mode) {
            (Need::Never, _) => quote!(false),
            (_, Mode::Grad) | (Need::Always, _) => quote!(true),
            (Need::Params(set), Mode::Vjp) => {
                let flag = local("__need".into());
                let terms = set.iter().map(|&i| {
                    let i = proc_macro2::Literal::usize_unsuffixed(i);
                    quote!(#flag[#i])
                });
                quote!((#(#terms)||*))
            }
        }
    }

    fn target_of(&self, op: &Operand) -> Option<Target> {
        match op {
            Operand::Var { var, .. } => Some(match (self.plan.storage[*var], self.layers.get(var)) {
                (Storage::Item(tuple, k), _) => Target::Item(tuple, k),
                (Storage::Layer, Some((_, loop_id, model, list))) => Target::Indexed {
                    param: *model,
                    loop_id: *loop_id,
                    path: list.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("."),
                    rest: String::new(),
                },
                _ => Target::Value(*var),
            }),
            Operand::Field { param, path, .. } => {
                let path = path.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(".");
                Some(match self.layers.get(param) {
                    Some((_, loop_id, model, list)) => Target::Indexed {
                        param: *model,
                        loop_id: *loop_id,
                        path: list.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("."),
                        rest: path,
                    },
                    None => Target::Field(*param, path),
                })
            }
            Operand::Const { .. } => None,
        }
    }

    /// Takes a gradient for use as an upstream gradient.
    fn take(&self, target: &Target) -> TokenStream {
        let g = grad_ident(self.f, target);
        if self.upfront { quote!(#g.take()) } else { quote!(#g) }
    }

    /// Adds `contribution` (an `Option`) to `target`.
    fn contribute(&self, target: &Target, contribution: TokenStream, declared: &mut BTreeSet<Target>) -> TokenStream {
        let g = grad_ident(self.f, target);
        if let Target::Indexed {
            loop_id, path, rest, ..
        } = target
        {
            let (i, f) = (index_ident(*loop_id), local("__f".into()));
            let (path, rest) = (members(path), members(rest));
            return quote! {
                if let ::core::option::Option::Some(#f) = #contribution {
                    ::autodiff::__private::Gradient::accumulate(&mut #g #(.#path)* [#i] #(.#rest)*, #f);
                }
            };
        }
        if self.upfront {
            quote!(#g = ::autodiff::__private::accumulate(#g.take(), #contribution);)
        } else if declared.insert(target.clone()) {
            quote!(let #g = #contribution;)
        } else {
            quote!(let #g = ::autodiff::__private::accumulate(#g, #contribution);)
        }
    }

    fn step_backward(&self, step: &Step, declared: &mut BTreeSet<Target>) -> TokenStream {
        if !step.reversed {
            return quote!();
        }
        let mut out = TokenStream::new();
        if self.stacked(step) {
            for h in self.hoists(step) {
                let (k, s) = (hoist_ident(h.id), hoist_stack(h.id));
                out.extend(quote!(let #k = #s.pop();));
            }
        }
        let v = var_ident(self.f, step.var);
        let y_name = local(format!("__y{}", step.id));
        let y = match self.plan.storage[step.var] {
            Storage::Slot { saved: true } => {
                let s = stack_ident(self.f, step.var);
                out.extend(quote!(let #y_name = ::autodiff::__private::restore(&mut #v, &mut #s);));
                quote!(::autodiff::__private::live(&#y_name))
            }
            _ => self.value_ref(step.var),
        };
        let own = Target::Value(step.var);
        // The gradient of a split call's outputs, gathered into one tuple.
        if let Value::Call {
            split: Some(outputs), ..
        } = &step.value
        {
            let items: Vec<usize> = (0..*outputs).collect();
            let present: Vec<Target> = items
                .iter()
                .map(|&k| Target::Item(step.var, k))
                .filter(|t| self.has(t, declared))
                .collect();
            if !present.is_empty() {
                let checks = present.iter().map(|t| grad_ident(self.f, t));
                let tuple = items.iter().map(|&k| {
                    let t = Target::Item(step.var, k);
                    let index = syn::Index::from(k);
                    let grad = if self.has(&t, declared) {
                        self.take(&t)
                    } else {
                        quote!(::core::option::Option::None)
                    };
                    quote!(::autodiff::__private::or_zeros(#grad, &(#y).#index))
                });
                let g = grad_ident(self.f, &own);
                let binding = if self.upfront { quote!(#g =) } else { quote!(let #g =) };
                out.extend(quote! {
                    #binding if #(#checks.is_some())||* {
                        ::core::option::Option::Some((#(#tuple,)*))
                    } else {
                        ::core::option::Option::None
                    };
                });
                declared.insert(own.clone());
            }
        }
        let has_upstream = self.has(&own, declared);
        let upstream = self.take(&own);
        match &step.value {
            Value::Call { callee, args, .. } if has_upstream => {
                let g = local("__g".into());
                let slot = |i: usize| local(format!("__c{}_{i}", step.id));
                let contributing: Vec<bool> = step.need.iter().map(|n| !n.is_never()).collect();
                let slots = (0..args.len()).map(|i| {
                    if contributing[i] {
                        slot(i).into_token_stream()
                    } else {
                        quote!(_)
                    }
                });
                let nones = args.iter().map(|_| quote!(::core::option::Option::None));
                let arg_exprs = args.iter().map(|a| self.operand(a, Phase::Backward)).collect();
                let needs = step.need.iter().map(|n| self.need_expr(n));
                let vjp = self.call(callee, arg_exprs, Some(quote!(#y, #g, [#(#needs),*])), step.span);
                out.extend(quote_spanned! {step.span=>
                    let (#(#slots,)*) = match #upstream {
                        ::core::option::Option::Some(#g) => #vjp,
                        ::core::option::Option::None => (#(#nones,)*),
                    };
                });
                let module = callee.module_name();
                for i in (0..args.len()).filter(|&i| contributing[i]) {
                    let (s, i) = (slot(i), proc_macro2::Literal::usize_unsuffixed(i));
                    out.extend(quote_spanned!(step.span=>
                        (&::autodiff::__private::Probe(&#s)).check_gradient(#module, #i);
                    ));
                }
                for (i, arg) in args.iter().enumerate() {
                    let Some(target) = self.target_of(arg).filter(|_| contributing[i]) else {
                        continue;
                    };
                    // The check and its slot share one hygiene context, located at
                    // the user's argument, so a `NoGrad` error points at it.
                    let at_arg = Span::mixed_site().located_at(operand_span(arg));
                    let mut s = slot(i);
                    s.set_span(at_arg);
                    let checked = quote_spanned!(at_arg=> ::autodiff::__private::gradient(#s));
                    out.extend(self.contribute(&target, checked, declared));
                }
            }
            Value::Copy(arg) if has_upstream => {
                if let Some(target) = self.target_of(arg) {
                    out.extend(self.contribute(&target, upstream, declared));
                }
            }
            _ if has_upstream && self.upfront => out.extend(quote!(let _ = #upstream;)),
            _ => {}
        }
        if let Storage::Slot { saved: true } = self.plan.storage[step.var] {
            out.extend(quote!(::autodiff::__private::recycle!(#y_name);));
        }
        out
    }

    /// Whether a gradient exists at this point of the backward pass.
    fn has(&self, target: &Target, declared: &BTreeSet<Target>) -> bool {
        if self.upfront {
            self.targets.contains(target)
        } else {
            declared.contains(target)
        }
    }

    /// `tokens` with every identifier named in `reads` replaced by the value
    /// of that variable, where it lives.
    fn replace_names(&self, tokens: TokenStream, reads: &[(String, VarId)]) -> TokenStream {
        tokens
            .into_iter()
            .map(|tree| match tree {
                proc_macro2::TokenTree::Group(g) => {
                    let mut group = proc_macro2::Group::new(g.delimiter(), self.replace_names(g.stream(), reads));
                    group.set_span(g.span());
                    proc_macro2::TokenTree::Group(group).into_token_stream()
                }
                proc_macro2::TokenTree::Ident(i) => match reads.iter().find(|(name, _)| i == name) {
                    Some((_, var)) => {
                        let r = self.value_ref(*var);
                        quote!((*#r))
                    }
                    None => i.into_token_stream(),
                },
                other => other.into_token_stream(),
            })
            .collect()
    }

    /// Code kept as written, with active values read from where they live.
    fn substituted(&self, code: &Opaque) -> TokenStream {
        struct Substitute<'a, 'e> {
            emitter: &'a Emitter<'e>,
            names: std::slice::Iter<'a, Option<VarId>>,
        }
        impl VisitMut for Substitute<'_, '_> {
            fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
                if let syn::Expr::Path(p) = e
                    && p.qself.is_none()
                    && p.path.get_ident().is_some()
                {
                    if let Some(Some(var)) = self.names.next()
                        && !self.emitter.program.need[*var].is_never()
                        && !matches!(self.emitter.plan.storage[*var], Storage::Param(_))
                    {
                        let r = self.emitter.value_ref(*var);
                        *e = syn::parse_quote!((*#r));
                    }
                    return;
                }
                syn::visit_mut::visit_expr_mut(self, e);
            }
            fn visit_macro_mut(&mut self, _: &mut syn::Macro) {}
            fn visit_item_mut(&mut self, _: &mut syn::Item) {}
        }
        let mut expr = code.expr.clone();
        Substitute {
            emitter: self,
            names: code.names.iter(),
        }
        .visit_expr_mut(&mut expr);
        expr.into_token_stream()
    }

    fn forward(&self, nodes: &[Node]) -> TokenStream {
        nodes.iter().map(|n| self.forward_node(n)).collect()
    }

    fn forward_node(&self, node: &Node) -> TokenStream {
        match node {
            Node::Verbatim(tokens) => tokens.clone(),
            Node::Substituted { prefix, tokens, reads } => {
                let tokens = self.replace_names(tokens.clone(), reads);
                quote!(#prefix #tokens)
            }
            Node::Step(step) => self.step_forward(step),
            Node::If {
                id,
                cond,
                arms,
                recorded,
            } => {
                let cond = self.substituted(cond);
                let s = branch_stack(*id);
                let push = |k: u32| recorded.then(|| quote!(#s.push(#k);));
                let (p0, p1) = (push(0), push(1));
                let (a0, a1) = (self.forward(&arms[0]), self.forward(&arms[1]));
                quote!(if #cond { #p0 #a0 } else { #p1 #a1 })
            }
            Node::Match {
                id,
                scrutinee,
                arms,
                recorded,
            } => {
                let scrutinee = self.substituted(scrutinee);
                let s = branch_stack(*id);
                let arms = arms.iter().enumerate().map(|(k, (head, body))| {
                    let k = k as u32;
                    let push = recorded.then(|| quote!(#s.push(#k);));
                    let body = self.forward(body);
                    let pat = &head.pat;
                    let guard = head.guard.as_ref().map(|g| {
                        let g = self.substituted(g);
                        quote!(if #g)
                    });
                    quote!(#pat #guard => { #push #body })
                });
                quote!(match #scrutinee { #(#arms)* })
            }
            Node::Loop {
                id,
                head,
                label,
                body,
                recorded,
            } => {
                let s = loop_stack(*id);
                let start = recorded.then(|| quote!(#s.push(0u32);));
                let end = recorded.then(|| {
                    let fall = crate::ir::FALL_THROUGH;
                    quote!(#s.push(#fall);)
                });
                let label = label.as_ref().map(|l| quote!(#l:));
                let body = self.forward(body);
                if let LoopKind::Layers { param, path, ident, .. } = head {
                    let list = self.value_ref(*param);
                    let (i, ix) = (index_ident(*id), index_stack(*id));
                    let record = recorded.then(|| quote!(#ix.push(#i);));
                    return quote! {
                        #start
                        #label for (#i, #ident) in ::core::iter::Iterator::enumerate((#list) #(.#path)*.iter()) {
                            #record
                            #body
                            #end
                        }
                    };
                }
                let head = match head {
                    LoopKind::For { pat, iter } => {
                        let iter = self.substituted(iter);
                        quote!(for #pat in #iter)
                    }
                    LoopKind::While(cond) => {
                        let cond = self.substituted(cond);
                        quote!(while #cond)
                    }
                    LoopKind::Loop => quote!(loop),
                    LoopKind::Layers { .. } => quote!(),
                };
                quote!(#start #label #head { #body #end })
            }
            Node::Exit {
                kind,
                site,
                records,
                tokens,
                ..
            } => {
                let pushes = records.iter().map(|l| {
                    let s = loop_stack(*l);
                    quote!(#s.push(#site);)
                });
                let leave = if *kind == ExitKind::Return {
                    let (exit, label) = (exit_ident(), forward_label());
                    quote!(#exit = #site; break #label;)
                } else {
                    quote!(#tokens;)
                };
                quote!({ #(#pushes)* #leave })
            }
        }
    }

    /// The exits inside a node that end `scope`'s iteration (a loop's), or
    /// the function (`None`).
    fn sites(node: &Node, scope: Option<LoopId>, out: &mut Vec<SiteId>) {
        match node {
            Node::Exit { kind, site, ends, .. } => {
                let ends_scope = match scope {
                    Some(l) => ends.contains(&l),
                    None => *kind == ExitKind::Return,
                };
                if ends_scope {
                    out.push(*site);
                }
            }
            Node::If { arms, .. } => arms.iter().flatten().for_each(|n| Self::sites(n, scope, out)),
            Node::Match { arms, .. } => arms
                .iter()
                .flat_map(|(_, a)| a)
                .for_each(|n| Self::sites(n, scope, out)),
            Node::Loop { body, .. } => body.iter().for_each(|n| Self::sites(n, scope, out)),
            Node::Verbatim(_) | Node::Substituted { .. } | Node::Step(_) => {}
        }
    }

    /// The backward half of a block: its nodes in reverse, each run only if
    /// the forward pass reached it (no exit of `scope` before it was taken).
    fn backward(&self, nodes: &[Node], scope: Option<LoopId>, declared: &mut BTreeSet<Target>) -> TokenStream {
        self.backward_nodes(nodes, scope, declared, false)
    }

    /// [`backward`](Self::backward) of the top-level nodes, with the hook
    /// events after each: outside the test of where the forward pass ended,
    /// so that every call makes the same events.
    fn backward_top(&self, nodes: &[Node], declared: &mut BTreeSet<Target>) -> TokenStream {
        self.backward_nodes(nodes, None, declared, true)
    }

    fn backward_nodes(
        &self,
        nodes: &[Node],
        scope: Option<LoopId>,
        declared: &mut BTreeSet<Target>,
        top: bool,
    ) -> TokenStream {
        let site_var = match scope {
            Some(l) => loop_site(l).into_token_stream(),
            None => exit_ident().into_token_stream(),
        };
        let mut out = TokenStream::new();
        for m in (0..nodes.len()).rev() {
            let code = self.backward_node(&nodes[m], scope, declared);
            if code.is_empty() {
                continue;
            }
            let mut before = Vec::new();
            nodes[..m].iter().for_each(|n| Self::sites(n, scope, &mut before));
            if before.is_empty() {
                out.extend(code);
            } else {
                out.extend(quote!(if !::core::matches!(#site_var, #(#before)|*) { #code }));
            }
            if top {
                out.extend(self.hook_events(m, declared));
            }
        }
        out
    }

    fn backward_node(&self, node: &Node, scope: Option<LoopId>, declared: &mut BTreeSet<Target>) -> TokenStream {
        match node {
            Node::Step(step) => self.step_backward(step, declared),
            Node::If { id, arms, recorded, .. } if *recorded => {
                let s = branch_stack(*id);
                let a0 = self.backward(&arms[0], scope, declared);
                let a1 = self.backward(&arms[1], scope, declared);
                quote!(match #s.pop() { 0u32 => { #a0 } _ => { #a1 } })
            }
            Node::Match { id, arms, recorded, .. } if *recorded => {
                let s = branch_stack(*id);
                let arms = arms.iter().enumerate().map(|(k, (_, body))| {
                    let k = k as u32;
                    let body = self.backward(body, scope, declared);
                    quote!(#k => { #body })
                });
                quote!(match #s.pop() { #(#arms)* _ => {} })
            }
            Node::Loop {
                id,
                head,
                body,
                recorded,
                ..
            } if *recorded => {
                let (s, x) = (loop_stack(*id), loop_site(*id));
                // A loop over layers rebinds its variable to the iteration's layer.
                let rebind = match head {
                    LoopKind::Layers { param, path, ident, .. } => {
                        let list = self.value_ref(*param);
                        let (i, ix) = (index_ident(*id), index_stack(*id));
                        quote!(let #i = #ix.pop(); let #ident = &(#list) #(.#path)* [#i];)
                    }
                    _ => quote!(),
                };
                let body = self.backward(body, Some(*id), declared);
                let events = self.iteration_events(*id);
                quote!(loop {
                    let #x = #s.pop();
                    if #x == 0u32 {
                        break;
                    }
                    #rebind
                    #body
                    #events
                })
            }
            _ => quote!(),
        }
    }
}

/// Where `NAME_grad` tells a gradient hook that gradients are final: per
/// top-level statement, the parameters, model fields and layer lists whose
/// last contribution that statement makes; per loop over a model's layers,
/// the list whose layers are final one by one, as the loop's backward half
/// finishes each.
#[derive(Default)]
struct Hooks {
    ready: std::collections::BTreeMap<usize, Vec<(Final, VarId, String)>>,
    per_layer: std::collections::BTreeMap<LoopId, (VarId, String)>,
    progress: bool,
}

/// No events: `NAME_vjp` runs inside another function's backward pass.
static NO_HOOKS: Hooks = Hooks {
    ready: std::collections::BTreeMap::new(),
    per_layer: std::collections::BTreeMap::new(),
    progress: false,
};

/// What becomes final.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Final {
    /// A parameter's whole gradient.
    Whole,
    /// A field (path) of a model parameter.
    Field,
    /// A list field of a model, accumulated in place by a loop over it.
    List,
}

/// Whether `nodes` can leave their loop early or visit `list` again.
fn exits_or_revisits(nodes: &[Node], list: (VarId, &[Ident])) -> bool {
    nodes.iter().any(|n| match n {
        Node::Exit { .. } => true,
        Node::Loop { head, body, .. } => {
            matches!(head, LoopKind::Layers { param, path, .. } if (*param, path.as_slice()) == list)
                || exits_or_revisits(body, list)
        }
        Node::If { arms, .. } => arms.iter().any(|a| exits_or_revisits(a, list)),
        Node::Match { arms, .. } => arms.iter().any(|(_, a)| exits_or_revisits(a, list)),
        _ => false,
    })
}

impl Emitter<'_> {
    /// The hook events of the backward pass. A gradient is reported when no
    /// other gradient is added to it later: a parameter's whole gradient when
    /// it has no field gradients, a field's when its parameter gets no whole
    /// gradient and no other field or list of it contains it or lies in it.
    /// A list visited by a top-level loop that neither leaves early nor
    /// visits it again is reported layer by layer.
    fn hooks(&self, targets: &BTreeSet<Target>) -> Hooks {
        let mut first = std::collections::BTreeMap::new();
        for (m, node) in self.program.nodes.iter().enumerate() {
            let mut here = BTreeSet::new();
            collect_targets(self, std::slice::from_ref(node), &mut here);
            for t in here {
                let key = match t {
                    Target::Value(param)
                        if self
                            .f
                            .vars
                            .get(param)
                            .is_some_and(|v| matches!(v.kind, VarKind::Param(_))) =>
                    {
                        (Final::Whole, param, String::new())
                    }
                    Target::Field(param, path) => (Final::Field, param, path),
                    Target::Indexed { param, path, .. } => (Final::List, param, path),
                    _ => continue,
                };
                first.entry(key).or_insert(m);
            }
        }
        let differentiated = |p: VarId| {
            self.f
                .vars
                .get(p)
                .is_some_and(|v| matches!(v.kind, VarKind::Param(i) if self.sig.params.get(i).is_some_and(|p| p.wrt)))
        };
        let related = |(kind_a, a): (Final, &str), (kind_b, b): (Final, &str)| {
            (a == b && kind_a != kind_b)
                || a.strip_prefix(b).is_some_and(|r| r.starts_with('.'))
                || b.strip_prefix(a).is_some_and(|r| r.starts_with('.'))
        };
        let mut hooks = Hooks {
            progress: true,
            ..Hooks::default()
        };
        for ((kind, param, path), &m) in &first {
            let alone = match kind {
                Final::Whole => !first.keys().any(|(k, p, _)| p == param && *k != Final::Whole),
                _ => {
                    !targets.contains(&Target::Value(*param))
                        && !first
                            .keys()
                            .any(|(k, p, other)| p == param && related((*kind, path), (*k, other)))
                }
            };
            if !differentiated(*param) || !alone {
                continue;
            }
            if let (
                Final::List,
                Node::Loop {
                    id,
                    head:
                        LoopKind::Layers {
                            param: list_param,
                            path: list_path,
                            ..
                        },
                    body,
                    ..
                },
            ) = (kind, &self.program.nodes[m])
            {
                let joined = list_path.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(".");
                if list_param == param && joined == *path && !exits_or_revisits(body, (*param, list_path)) {
                    hooks.per_layer.insert(*id, (*param, path.clone()));
                    continue;
                }
            }
            hooks.ready.entry(m).or_default().push((*kind, *param, path.clone()));
        }
        hooks
    }

    /// The events at the end of each iteration of loop `id`'s backward half.
    fn iteration_events(&self, id: LoopId) -> TokenStream {
        let mut out = TokenStream::new();
        if let Some((param, path)) = self.hooks.per_layer.get(&id)
            && let Some(VarKind::Param(p)) = self.f.vars.get(*param).map(|v| v.kind)
        {
            let name = format!("{}.{path}", self.param_ident(p));
            let (members, r, g, i) = (
                members(path),
                self.value_ref(*param),
                model_grad_ident(self.f, *param),
                index_ident(id),
            );
            out.extend(quote!(
                ::autodiff::__private::ready_layer(#name, #i, &mut #g #(.#members)* [#i], &(*#r) #(.#members)* [#i]);
            ));
        }
        if self.hooks.progress {
            out.extend(quote!(::autodiff::__private::progress();));
        }
        out
    }

    /// The events after top-level statement `m` of the backward pass.
    fn hook_events(&self, m: usize, declared: &BTreeSet<Target>) -> TokenStream {
        let (hooks, mut out) = (self.hooks, TokenStream::new());
        for (kind, param, path) in hooks.ready.get(&m).into_iter().flatten() {
            let Some(VarKind::Param(i)) = self.f.vars.get(*param).map(|v| v.kind) else {
                continue;
            };
            let ident = self.param_ident(i);
            let r = self.value_ref(*param);
            let gradient = |target: Target| {
                if self.has(&target, declared) {
                    let g = grad_ident(self.f, &target);
                    quote!(&#g)
                } else {
                    quote!(&::core::option::Option::None)
                }
            };
            let name = format!("{ident}.{path}");
            let members = members(path);
            // `(*model).w`, as the assembly reads it, so that a field that
            // does not exist is one error.
            let like = quote!(&(*#r) #(.#members)*);
            out.extend(match kind {
                Final::Whole => {
                    let (name, g) = (ident.to_string(), gradient(Target::Value(*param)));
                    quote!(::autodiff::__private::ready_whole(#name, #g, #r);)
                }
                Final::Field => {
                    let g = gradient(Target::Field(*param, path.clone()));
                    quote!(::autodiff::__private::ready(#name, #g, #like);)
                }
                Final::List => {
                    let g = model_grad_ident(self.f, *param);
                    quote!(::autodiff::__private::ready_in_place(#name, &mut #g #(.#members)*, #like);)
                }
            });
        }
        if hooks.progress {
            out.extend(quote!(::autodiff::__private::progress();));
        }
        out
    }
}

fn operand_span(op: &Operand) -> Span {
    match op {
        Operand::Var { span, .. } | Operand::Field { span, .. } | Operand::Const { span, .. } => *span,
    }
}

/// The plain locals (and tuples of items) a subtree reads or defines, for the
/// recycling plan.
fn locals_in(nodes: &[Node], plan: &Plan, out: &mut Vec<VarId>) {
    let mut vars = Vec::new();
    gather_vars(nodes, &mut vars);
    for var in vars {
        let var = match plan.storage[var] {
            Storage::Item(tuple, _) => tuple,
            _ => var,
        };
        if plan.storage[var] == Storage::Local {
            out.push(var);
        }
    }
}

fn gather_vars(nodes: &[Node], out: &mut Vec<VarId>) {
    for node in nodes {
        match node {
            // A plain local read by substituted code lives until that code.
            Node::Substituted { reads, .. } => out.extend(reads.iter().map(|(_, v)| *v)),
            Node::Step(step) => {
                out.push(step.var);
                let args: Vec<&Operand> = match &step.value {
                    Value::Call { args, .. } => args.iter().collect(),
                    Value::Copy(a) => vec![a],
                    Value::Const(_) => vec![],
                };
                for a in args {
                    if let Operand::Var { var, .. } = a {
                        out.push(*var);
                    }
                }
            }
            Node::If { cond, arms, .. } => {
                out.extend(cond.reads());
                arms.iter().for_each(|a| gather_vars(a, out));
            }
            Node::Match { scrutinee, arms, .. } => {
                out.extend(match_reads(scrutinee, arms));
                arms.iter().for_each(|(_, a)| gather_vars(a, out));
            }
            Node::Loop { head, body, .. } => {
                if let LoopKind::For { iter: c, .. } | LoopKind::While(c) = head {
                    out.extend(c.reads());
                }
                gather_vars(body, out);
            }
            Node::Verbatim(_) | Node::Exit { .. } => {}
        }
    }
}

fn collect_targets(e: &Emitter<'_>, nodes: &[Node], out: &mut BTreeSet<Target>) {
    crate::plan::visit_steps(nodes, &mut |step| {
        if !step.reversed {
            return;
        }
        let args: Vec<(usize, &Operand)> = match &step.value {
            Value::Call { args, .. } => args.iter().enumerate().collect(),
            Value::Copy(a) => vec![(0, a)],
            Value::Const(_) => vec![],
        };
        for (i, a) in args {
            if step.need.get(i).is_some_and(|n| !n.is_never())
                && let Some(t) = e.target_of(a)
            {
                out.insert(t);
            }
        }
    });
}

fn collect_layers(nodes: &[Node], out: &mut std::collections::HashMap<VarId, (Ident, LoopId, VarId, Vec<Ident>)>) {
    for node in nodes {
        match node {
            Node::Loop { id, head, body, .. } => {
                if let LoopKind::Layers {
                    param,
                    path,
                    item,
                    ident,
                } = head
                {
                    out.insert(*item, (ident.clone(), *id, *param, path.clone()));
                }
                collect_layers(body, out);
            }
            Node::If { arms, .. } => arms.iter().for_each(|a| collect_layers(a, out)),
            Node::Match { arms, .. } => arms.iter().for_each(|(_, a)| collect_layers(a, out)),
            _ => {}
        }
    }
}

/// Whether the program has regions or exits (gradients are then declared up front).
fn has_control_flow(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| !matches!(n, Node::Verbatim(_) | Node::Step(_)))
}

impl Emitter<'_> {
    /// The body of `NAME_grad` or `NAME_vjp`: declarations, the forward pass,
    /// the backward pass from `seed`, and what is recycled.
    fn body(&self, seed: TokenStream) -> (Vec<TokenStream>, BTreeSet<Target>) {
        let ret = self.f.ret;
        let mut declarations = Vec::new();
        // Slots and stacks, before the forward pass.
        let mut slots = BTreeSet::new();
        crate::plan::visit_steps(&self.program.nodes, &mut |s| {
            if matches!(self.plan.storage[s.var], Storage::Slot { .. } | Storage::Result) {
                slots.insert(s.var);
            }
        });
        for &var in &slots {
            let v = var_ident(self.f, var);
            let ty = self
                .f
                .vars
                .get(var)
                .and_then(|v| v.ty.as_ref())
                .map(|ty| quote!(: ::core::option::Option<#ty>));
            declarations.push(quote!(let mut #v #ty = ::core::option::Option::None;));
            if let Storage::Slot { saved: true } = self.plan.storage[var] {
                let s = stack_ident(self.f, var);
                declarations.push(quote!(let mut #s = ::autodiff::__private::Stack::new();));
            }
        }
        let mut stacks = Vec::new();
        self.stacks(&self.program.nodes, &mut stacks);
        declarations.extend(stacks);
        if self.f.early_return {
            let exit = exit_ident();
            declarations.push(quote!(let mut #exit: u32 = 0;));
        }

        // Forward statements (top level), with the locals they touch.
        let mut forward = Vec::new();
        for node in &self.program.nodes {
            let mut reads = Vec::new();
            locals_in(std::slice::from_ref(node), self.plan, &mut reads);
            forward.push(Statement {
                code: self.forward_node(node),
                defines: vec![],
                reads,
            });
        }
        if self.f.early_return {
            let label = forward_label();
            let code: TokenStream = forward.drain(..).map(|s| s.code).collect();
            forward.push(Statement {
                code: quote!(#label: { #code }),
                defines: vec![],
                reads: vec![],
            });
        }

        // The backward pass.
        let mut backward = Vec::new();
        let mut targets = BTreeSet::new();
        let seeded = !self.program.need[ret].is_never();
        if seeded {
            targets.insert(Target::Value(ret));
            collect_targets(self, &self.program.nodes, &mut targets);
            let mut declared = BTreeSet::new();
            let g = grad_ident(self.f, &Target::Value(ret));
            if self.upfront {
                let all = targets
                    .iter()
                    .filter(|t| !matches!(t, Target::Indexed { .. }))
                    .map(|t| grad_ident(self.f, t));
                // The whole gradient of each model whose layers a loop visits.
                let models: BTreeSet<VarId> = targets
                    .iter()
                    .filter_map(|t| match t {
                        Target::Indexed { param, .. } => Some(*param),
                        _ => None,
                    })
                    .collect();
                let models = models.into_iter().map(|p| {
                    let (g, r) = (model_grad_ident(self.f, p), self.value_ref(p));
                    quote!(let mut #g = ::autodiff::__private::empty_like(#r);)
                });
                backward.push(Statement {
                    code: quote!(#(let mut #all = ::core::option::Option::None;)* #(#models)* #g = ::core::option::Option::Some(#seed);),
                    defines: vec![],
                    reads: vec![ret],
                });
            } else {
                declared.insert(Target::Value(ret));
                backward.push(Statement {
                    code: quote!(let #g = ::core::option::Option::Some(#seed);),
                    defines: vec![],
                    reads: vec![ret],
                });
            }
            let hooks = match self.mode {
                Mode::Grad => self.hooks(&targets),
                Mode::Vjp => Hooks::default(),
            };
            let e = Emitter {
                targets: targets.clone(),
                hooks: &hooks,
                ..*self
            };
            if self.upfront {
                let code = e.backward_top(&self.program.nodes, &mut declared);
                let mut reads = Vec::new();
                locals_in(&self.program.nodes, self.plan, &mut reads);
                backward.push(Statement {
                    code,
                    defines: vec![],
                    reads,
                });
            } else {
                for (m, node) in self.program.nodes.iter().enumerate().rev() {
                    let mut code = e.backward_node(node, None, &mut declared);
                    if code.is_empty() {
                        continue;
                    }
                    code.extend(e.hook_events(m, &declared));
                    let mut reads = Vec::new();
                    locals_in(std::slice::from_ref(node), self.plan, &mut reads);
                    backward.push(Statement {
                        code,
                        defines: vec![],
                        reads,
                    });
                }
            }
            // Only gradients that were declared exist.
            if !self.upfront {
                targets = declared;
            }
        }
        let keep = (self.plan.storage[ret] == Storage::Local).then_some(ret);
        let mut body = declarations;
        body.extend(crate::plan::recycle_after_last_use(forward, backward, keep, |v| {
            let v = var_ident(self.f, v);
            quote!(::autodiff::__private::recycle!(#v);)
        }));
        for &var in &slots {
            if self.plan.storage[var] != Storage::Result {
                let v = var_ident(self.f, var);
                body.push(quote!(::autodiff::__private::recycle!(#v);));
            }
        }
        (body, targets)
    }

    fn stacks(&self, nodes: &[Node], out: &mut Vec<TokenStream>) {
        let stack = quote!(::autodiff::__private::Stack);
        for node in nodes {
            match node {
                Node::Step(step) if step.reversed && self.stacked(step) => {
                    for h in self.hoists(step) {
                        let s = hoist_stack(h.id);
                        out.push(quote!(let mut #s = #stack::new();));
                    }
                }
                Node::If { id, arms, recorded, .. } => {
                    if *recorded {
                        let s = branch_stack(*id);
                        out.push(quote!(let mut #s: #stack<u32> = #stack::new();));
                    }
                    arms.iter().for_each(|a| self.stacks(a, out));
                }
                Node::Match { id, arms, recorded, .. } => {
                    if *recorded {
                        let s = branch_stack(*id);
                        out.push(quote!(let mut #s: #stack<u32> = #stack::new();));
                    }
                    arms.iter().for_each(|(_, a)| self.stacks(a, out));
                }
                Node::Loop {
                    id,
                    head,
                    body,
                    recorded,
                    ..
                } => {
                    if *recorded {
                        let s = loop_stack(*id);
                        out.push(quote!(let mut #s: #stack<u32> = #stack::new();));
                        if let LoopKind::Layers { .. } = head {
                            let ix = index_stack(*id);
                            out.push(quote!(let mut #ix: #stack<usize> = #stack::new();));
                        }
                    }
                    self.stacks(body, out);
                }
                _ => {}
            }
        }
    }

    /// The gradient of a parameter: its whole-value gradient (or zeros) plus
    /// the gradients of its fields.
    fn assembled_param_grad(&self, index: usize, targets: &BTreeSet<Target>) -> TokenStream {
        let var = self
            .f
            .vars
            .iter()
            .position(|v| v.kind == VarKind::Param(index))
            .unwrap_or_default();
        let r = self.value_ref(var);
        let whole = targets.contains(&Target::Value(var));
        let fields: Vec<&String> = targets
            .iter()
            .filter_map(|t| match t {
                Target::Field(p, path) if *p == var => Some(path),
                _ => None,
            })
            .collect();
        let indexed = targets
            .iter()
            .any(|t| matches!(t, Target::Indexed { param, .. } if *param == var));
        if indexed {
            // Layers accumulated in place; fields and the whole value are added.
            let (s, f) = (local("__s".into()), local("__f".into()));
            let g = model_grad_ident(self.f, var);
            let adds = fields.iter().map(|path| {
                let field = grad_ident(self.f, &Target::Field(var, (*path).clone()));
                let members = members(path);
                quote! {
                    if let ::core::option::Option::Some(#f) = #field {
                        ::autodiff::__private::Gradient::accumulate(&mut #s #(.#members)*, #f);
                    }
                }
            });
            let add_whole = whole.then(|| {
                let whole = grad_ident(self.f, &Target::Value(var));
                quote! {
                    if let ::core::option::Option::Some(#f) = #whole {
                        ::autodiff::__private::Gradient::accumulate(&mut #s, #f);
                    }
                }
            });
            let span = r.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span());
            let fill = quote_spanned!(span=> ::autodiff::__private::fill_like(#r, &mut #s););
            return quote!({
                let mut #s = #g;
                #(#adds)*
                #add_whole
                #fill
                #s
            });
        }
        if whole && fields.is_empty() {
            let g = grad_ident(self.f, &Target::Value(var));
            return quote!(::autodiff::__private::or_zeros(#g, #r));
        }
        if fields.is_empty() {
            return quote!(::autodiff::__private::zeros_for(#r));
        }
        // Field gradients move into an empty gradient (no zero-filling, no
        // sums when each field has one); what got none is zero-filled last.
        let start = if whole {
            let g = grad_ident(self.f, &Target::Value(var));
            quote!(::autodiff::__private::or_empty(#g, #r))
        } else {
            quote!(::autodiff::__private::empty_like(#r))
        };
        let s = local("__s".into());
        let f = local("__f".into());
        let adds = fields.iter().map(|path| {
            let g = grad_ident(self.f, &Target::Field(var, (*path).clone()));
            let members = path.split('.').map(|m| Ident::new(m, Span::call_site()));
            quote! {
                if let ::core::option::Option::Some(#f) = #g {
                    ::autodiff::__private::Gradient::accumulate(&mut #s #(.#members)*, #f);
                }
            }
        });
        // Spanned at the parameter, like the other calls that need
        // `Gradient`, so that one missing derive reads as one error there.
        let span = r.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span());
        let fill = quote_spanned!(span=> ::autodiff::__private::fill_like(#r, &mut #s););
        quote!({
            let mut #s = #start;
            #(#adds)*
            #fill
            #s
        })
    }

    /// The result, moved out at the end.
    fn output_value(&self) -> TokenStream {
        let v = var_ident(self.f, self.f.ret);
        match self.plan.storage[self.f.ret] {
            Storage::Local => v.into_token_stream(),
            _ => quote!(::core::option::Option::unwrap(#v)),
        }
    }
}

/// Everything emitted for a successfully analysed function.
/// The user's function as written; in a generic function, each `-x` of an
/// active value negates through the runtime, which needs only `F: Float`.
fn original_function(func: &ItemFn, f: &Function, activity: &crate::activity::Activity) -> TokenStream {
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

pub fn emit(
    sig: &Signature<'_>,
    f: &Function,
    program: &Program,
    plan: &Plan,
    activity: &crate::activity::Activity,
) -> TokenStream {
    let func = sig.func;
    let names = names(func);
    // Reassigned values (slots) have one gradient variable for all their
    // values, taken at each assignment: declared up front like a region's.
    let mut reassigned = false;
    crate::plan::visit_steps(&program.nodes, &mut |s| {
        reassigned |= matches!(plan.storage[s.var], Storage::Slot { .. } | Storage::Result);
    });
    let upfront = has_control_flow(&program.nodes) || f.early_return || reassigned;
    let mut layers = std::collections::HashMap::new();
    collect_layers(&program.nodes, &mut layers);
    let grad_emitter = Emitter {
        f,
        sig,
        program,
        plan,
        mode: Mode::Grad,
        upfront,
        targets: BTreeSet::new(),
        layers: &layers,
        hooks: &NO_HOOKS,
    };
    let vjp_emitter = Emitter {
        mode: Mode::Vjp,
        targets: BTreeSet::new(),
        ..grad_emitter
    };
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
        let scalar = local("__Scalar".into());
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
    let (body, targets) = grad_emitter.body(seed);
    let fields: Vec<(&Ident, TokenStream)> = sig
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.wrt)
        .map(|(i, p)| {
            let name = p.ident.to_string();
            let value = grad_emitter.assembled_param_grad(i, &targets);
            // Through a probe: a type that is no gradient is reported once,
            // by the assembly, not again here.
            (&p.ident, quote!(::autodiff::__private::finished!(#name, #value)))
        })
        .collect();
    let gradient = if sig.is_method {
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
    };
    let grad_type = if sig.is_method {
        method_grad_type(sig)
    } else {
        quote!(#grad_struct_ident #struct_args)
    };
    let value = grad_emitter.output_value();
    let doc = format!(
        "The value of [`{fn_name}`] and its gradient with respect to the differentiated parameters, computed by the backward pass that `#[differentiable]` generated."
    );
    let with_doc = format!(
        "[`{fn_name}_grad`] with its arrays taken from, and returned to, `workspace`: from the second call on, the step's own arrays come from the workspace instead of the heap. Give the gradients back with `workspace.recycle(...)` once used."
    );
    let workspace = local("__workspace".into());
    let grad_with_fn = &names.grad_with_fn;
    let turbofish = if sig.scalar_output {
        quote!(::<#(#type_args),*>)
    } else {
        let scalar = local("__Scalar".into());
        quote!(::<#(#type_args,)* #scalar>)
    };
    let args = sig.params.iter().map(|p| &p.ident).filter(|i| *i != "self");
    let call = if sig.is_method {
        quote!(self.#grad_fn #turbofish (#(#args),*))
    } else {
        quote!(#grad_fn #turbofish (#(#args),*))
    };
    // The workspace comes first, after the receiver of a method.
    let workspace_param = quote!(#workspace: &mut ::autodiff::__private::Workspace);
    let mut with_inputs: Vec<TokenStream> = func.sig.inputs.iter().map(|i| i.to_token_stream()).collect();
    with_inputs.insert(usize::from(sig.is_method), workspace_param);
    let allow =
        quote!(#[allow(dead_code, unused_variables, unused_mut, unused_assignments, unreachable_code, clippy::all)]);
    // The traits of the anomaly checks' method calls, once per body.
    let anomaly_traits = quote!(
        #[allow(unused_imports)]
        use ::autodiff::__private::{AnomalyCheck as _, AnomalySkip as _};
    );
    let grad_fn_item = quote! {
        #vis fn #grad_fn #generics (#(#inputs),*) -> (#output, #grad_type) #bound {
            // Calling only `_grad` uses the original function.
            let _ = #original;
            ::autodiff::__private::with_thread_workspace(move || {
                #anomaly_traits
                #(#body)*
                (#value, #gradient)
            })
        }
    };
    let source = crate::show::readable(grad_fn_item.clone());
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
    let grad_item = quote! {
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
    };

    let vjp_signature = vjp_signature(func, sig, &names);
    let (vjp_body, vjp_targets) = vjp_emitter.body(local("__gout".into()).into_token_stream());
    let results = sig.params.iter().enumerate().map(|(i, param)| {
        let var = f
            .vars
            .iter()
            .position(|v| v.kind == VarKind::Param(i))
            .unwrap_or_default();
        let whole = vjp_targets.contains(&Target::Value(var));
        let has_fields = vjp_targets
            .iter()
            .any(|t| matches!(t, Target::Field(p, _) | Target::Indexed { param: p, .. } if *p == var));
        if !param.wrt || (!whole && !has_fields) {
            return quote!(::core::option::Option::None);
        }
        if !has_fields {
            return grad_ident(f, &Target::Value(var)).into_token_stream();
        }
        let flag = local("__need".into());
        let index = proc_macro2::Literal::usize_unsuffixed(i);
        let value = vjp_emitter.assembled_param_grad(i, &vjp_targets);
        quote!(if #flag[#index] { ::core::option::Option::Some(#value) } else { ::core::option::Option::None })
    });
    let vjp_doc = format!(
        "The vector-Jacobian product of [`{fn_name}`], which makes it a module that other `#[differentiable]` functions can call. It recomputes the forward pass (trading one forward pass for not storing intermediates)."
    );
    let func = original_function(func, f, activity);
    let grad_struct = (!sig.is_method).then_some(grad_struct);
    quote! {
        #func
        #grad_struct
        #grad_item
        #[doc = #vjp_doc]
        #[doc(hidden)]
        #allow
        #vjp_signature {
            let _ = #original;
            #anomaly_traits
            #(#vjp_body)*
            (#(#results,)*)
        }
    }
}

fn output_type(func: &ItemFn) -> TokenStream {
    match &func.sig.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote!(()),
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
    let g = FnGenerics::of(func);
    let (params, preds) = (&g.params, &g.preds);
    quote! {
        #vis fn #vjp_fn<#(#params),*>(#(#inputs,)* _: &#output, #gout: #output, #need: [bool; #n]) -> (#(::core::option::Option<#slot_types>,)*)
        where #(#preds,)*
    }
}

/// `NameGrad`: one public field per differentiated parameter.
fn grad_struct(func: &ItemFn, sig: &Signature<'_>, names: &Names) -> TokenStream {
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
fn method_grad_type(sig: &Signature<'_>) -> TokenStream {
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
struct FnGenerics {
    /// As declared: `'a`, `F: Float`, `const N: usize`.
    params: Vec<TokenStream>,
    /// The `where` predicates.
    preds: Vec<TokenStream>,
    /// The type and const parameters' names, for a turbofish.
    type_args: Vec<TokenStream>,
    /// All parameters' names, for the gradient struct's type.
    args: Vec<TokenStream>,
    /// A `PhantomData` that uses every parameter, for the gradient struct.
    marker: Option<TokenStream>,
}

impl FnGenerics {
    fn of(func: &ItemFn) -> FnGenerics {
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
    fn struct_args(&self) -> TokenStream {
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
    let names = names(func);
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
    let output = output_type(func);
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
