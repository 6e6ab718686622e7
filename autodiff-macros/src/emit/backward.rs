//! The backward pass as Rust: each step's VJP call and where its results are
//! added, regions replayed from their records, the hook events, and each
//! parameter's gradient assembled at the end.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

use super::{Emitter, Mode, Phase, idents};
use crate::activity::Need;
use crate::hooks::Final;
use crate::ir::{LoopId, LoopKind, VarKind};
use crate::plan::{FieldPath, Position, Storage, Target};
use crate::program::{Node, Step, Value, exit_sites};

impl Emitter<'_> {
    pub(super) fn need_expr(&self, need: &Need) -> TokenStream {
        match (need, self.mode) {
            (Need::Never, _) => quote!(false),
            (_, Mode::Grad) | (Need::Always, _) => quote!(true),
            (Need::Params(set), Mode::Vjp) => {
                let flag = idents::local("__need");
                let terms = set.iter().map(|&i| {
                    let i = proc_macro2::Literal::usize_unsuffixed(i);
                    quote!(#flag[#i])
                });
                quote!((#(#terms)||*))
            }
        }
    }

    /// The gradient of `target`, or its tangent's twin.
    pub(super) fn gradient_ident(&self, target: &Target, twin: bool) -> syn::Ident {
        let g = idents::gradient(self.f, target);
        if twin { idents::tangent(&g) } else { g }
    }

    pub(super) fn model_gradient_ident(&self, param: crate::ir::VarId, twin: bool) -> syn::Ident {
        let g = idents::model_gradient(self.f, param);
        if twin { idents::tangent(&g) } else { g }
    }

    /// Takes a gradient for use as an upstream gradient.
    pub(super) fn take(&self, target: &Target) -> TokenStream {
        self.take_as(target, false)
    }

    pub(super) fn take_as(&self, target: &Target, twin: bool) -> TokenStream {
        let g = self.gradient_ident(target, twin);
        if self.plan.upfront {
            quote!(#g.take())
        } else {
            quote!(#g)
        }
    }

    /// Adds `contribution` (an `Option`) to `target`, and with tangents
    /// `twin` to the target's twin.
    pub(super) fn contribute(
        &self,
        target: &Target,
        contribution: TokenStream,
        twin: Option<TokenStream>,
        declared: &mut BTreeSet<Target>,
    ) -> TokenStream {
        let first = !self.plan.upfront && !matches!(target, Target::Indexed { .. }) && declared.insert(target.clone());
        let mut out = self.contribute_as(target, contribution, first, false);
        if let Some(twin) = twin {
            out.extend(self.contribute_as(target, twin, first, true));
        }
        out
    }

    fn contribute_as(&self, target: &Target, contribution: TokenStream, first: bool, twin: bool) -> TokenStream {
        let g = self.gradient_ident(target, twin);
        if let Target::Indexed { at, list, rest, param } = target {
            let g = self.model_gradient_ident(*param, twin);
            let i = match at {
                Position::Loop(loop_id) => idents::layer_index(*loop_id),
                Position::Hoist(id) => idents::hoist(*id),
            };
            let f = idents::local("__f");
            let (path, rest) = (idents::members(list), idents::members(rest));
            return quote! {
                if let ::core::option::Option::Some(#f) = #contribution {
                    ::autodiff::__private::Gradient::accumulate(&mut #g #(.#path)* [#i] #(.#rest)*, #f);
                }
            };
        }
        if self.plan.upfront {
            quote!(#g = ::autodiff::__private::accumulate(#g.take(), #contribution);)
        } else if first {
            quote!(let #g = #contribution;)
        } else {
            quote!(let #g = ::autodiff::__private::accumulate(#g, #contribution);)
        }
    }

    pub(super) fn step_backward(&self, step: &Step, declared: &mut BTreeSet<Target>) -> TokenStream {
        if !step.reversed {
            return quote!();
        }
        let mut out = TokenStream::new();
        if self.stacked(step) {
            for h in step.hoists() {
                let (k, s) = (idents::hoist(h.id), idents::hoist_stack(h.id));
                out.extend(quote!(let #k = #s.pop();));
            }
        }
        let v = idents::value(self.f, step.var);
        let y_name = idents::restored(step.id);
        let y = match self.plan.storage[step.var] {
            Storage::Slot { saved: true } => {
                let s = idents::value_stack(self.f, step.var);
                out.extend(quote!(let #y_name = ::autodiff::__private::restore(&mut #v, &mut #s);));
                if self.tangent.is_some() {
                    let (v, s, y) = (idents::tangent(&v), idents::tangent(&s), idents::tangent(&y_name));
                    out.extend(quote!(let #y = ::autodiff::__private::restore(&mut #v, &mut #s);));
                }
                quote!(::autodiff::__private::live(&#y_name))
            }
            _ => self.value_ref(step.var),
        };
        let y_tangent = match self.plan.storage[step.var] {
            Storage::Slot { saved: true } => {
                let y = idents::tangent(&y_name);
                quote!(::core::option::Option::as_ref(::autodiff::__private::live(&#y)))
            }
            _ => self.tangent_value(step.var),
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
                let checks: Vec<syn::Ident> = present.iter().map(|t| idents::gradient(self.f, t)).collect();
                // One `Option` per output (`None` for an output nothing used),
                // of the gradients or, with `twin`, of their tangents.
                let gather = |twin: bool| {
                    let tuple = items.iter().map(|&k| {
                        let t = Target::Item(step.var, k);
                        if self.has(&t, declared) {
                            self.take_as(&t, twin)
                        } else {
                            quote!(::core::option::Option::None)
                        }
                    });
                    let g = self.gradient_ident(&own, twin);
                    let binding = if self.plan.upfront {
                        quote!(#g =)
                    } else {
                        quote!(let #g =)
                    };
                    let gathered = if self.is_array(step.var) {
                        quote!([#(#tuple),*])
                    } else {
                        quote!((#(#tuple,)*))
                    };
                    quote! {
                        #binding if #(#checks.is_some())||* {
                            ::core::option::Option::Some(#gathered)
                        } else {
                            ::core::option::Option::None
                        };
                    }
                };
                // The tangents first: the test reads the gradients the values' tuple moves.
                if self.tangent.is_some() {
                    out.extend(gather(true));
                }
                out.extend(gather(false));
                declared.insert(own.clone());
            }
        }
        let has_upstream = self.has(&own, declared);
        let upstream = self.take(&own);
        match &step.value {
            Value::Call { callee, args, .. } if has_upstream => {
                let g = idents::local("__g");
                let result = |i: usize| idents::vjp_result(step.id, i);
                let contributing: Vec<bool> = step.need.iter().map(|n| !n.is_never()).collect();
                let results = (0..args.len()).map(|i| {
                    if contributing[i] {
                        result(i).into_token_stream()
                    } else {
                        quote!(_)
                    }
                });
                let nones: Vec<TokenStream> = args.iter().map(|_| quote!(::core::option::Option::None)).collect();
                let arg_exprs = args.iter().map(|a| self.operand(a, Phase::Backward)).collect();
                let needs = step.need.iter().map(|n| self.need_expr(n));
                if self.tangent.is_some() {
                    let tangents = args.iter().map(|a| self.tangent_operand(a, false));
                    let tg = idents::tangent(&g);
                    let vjp = self.tangent_call(
                        callee,
                        arg_exprs,
                        {
                            let t = quote_spanned!(step.span=> (#(#tangents,)*));
                            quote!(#t, #y, #y_tangent, #g, #tg, [#(#needs),*])
                        },
                        true,
                        step.span,
                    );
                    let twins = (0..args.len()).map(|i| {
                        if contributing[i] {
                            idents::tangent(&result(i)).into_token_stream()
                        } else {
                            quote!(_)
                        }
                    });
                    let upstream_twin = self.take_as(&own, true);
                    out.extend(quote_spanned! {step.span=>
                        let ((#(#results,)*), (#(#twins,)*)) = match (#upstream, #upstream_twin) {
                            (::core::option::Option::Some(#g), #tg) => #vjp,
                            (::core::option::Option::None, _) => ((#(#nones,)*), (#(#nones,)*)),
                        };
                    });
                } else {
                    let vjp = self.call(callee, arg_exprs, Some(quote!(#y, #g, [#(#needs),*])), step.span);
                    out.extend(quote_spanned! {step.span=>
                        let (#(#results,)*) = match #upstream {
                            ::core::option::Option::Some(#g) => #vjp,
                            ::core::option::Option::None => (#(#nones,)*),
                        };
                    });
                }
                let module = callee.module_name();
                for i in (0..args.len()).filter(|&i| contributing[i] && self.checks) {
                    let (s, i, on) = (
                        result(i),
                        proc_macro2::Literal::usize_unsuffixed(i),
                        idents::local("__anomaly"),
                    );
                    out.extend(quote_spanned!(step.span=>
                        if #on { (&::autodiff::__private::Probe(&#s)).check_gradient(#module, #i); }
                    ));
                }
                for (i, arg) in args.iter().enumerate() {
                    let Some(target) = self.plan.target_of(arg).filter(|_| contributing[i]) else {
                        continue;
                    };
                    // The check and its result share one hygiene context, located at
                    // the user's argument, so a `NoGrad` error points at it.
                    let at_arg = Span::mixed_site().located_at(arg.span());
                    let mut s = result(i);
                    s.set_span(at_arg);
                    let checked = quote_spanned!(at_arg=> ::autodiff::__private::gradient(#s));
                    let twin = self.tangent.is_some().then(|| {
                        let t = idents::tangent(&result(i));
                        quote!(::autodiff::__private::gradient(#t))
                    });
                    out.extend(self.contribute(&target, checked, twin, declared));
                }
            }
            Value::Copy(arg) if has_upstream => {
                if let Some(target) = self.plan.target_of(arg) {
                    let twin = self.tangent.is_some().then(|| self.take_as(&own, true));
                    out.extend(self.contribute(&target, upstream, twin, declared));
                }
            }
            // A gradient nothing reads (of a value computed from data alone,
            // such as a loop's first input): its buffer goes back to the
            // workspace, where the next step's gradients find it.
            _ if has_upstream && self.plan.upfront => {
                out.extend(quote!(::autodiff::__private::recycle!(#upstream);));
                if self.tangent.is_some() {
                    let twin = self.take_as(&own, true);
                    out.extend(quote!(::autodiff::__private::recycle!(#twin);));
                }
            }
            _ => {}
        }
        if let Storage::Slot { saved: true } = self.plan.storage[step.var] {
            out.extend(quote!(::autodiff::__private::recycle!(#y_name);));
            if self.tangent.is_some() {
                let y = idents::tangent(&y_name);
                out.extend(quote!(::autodiff::__private::recycle!(#y);));
            }
        }
        out
    }

    /// Whether a gradient exists at this point of the backward pass.
    pub(super) fn has(&self, target: &Target, declared: &BTreeSet<Target>) -> bool {
        if self.plan.upfront {
            self.plan.gradients.contains(target)
        } else {
            declared.contains(target)
        }
    }

    /// The backward half of a block: its nodes in reverse, each run only if
    /// the forward pass reached it (no exit of `scope` before it was taken).
    pub(super) fn backward(
        &self,
        nodes: &[Node],
        scope: Option<LoopId>,
        declared: &mut BTreeSet<Target>,
    ) -> TokenStream {
        self.backward_nodes(nodes, scope, declared, false)
    }

    /// [`backward`](Self::backward) of the top-level nodes, with the hook
    /// events after each: outside the test of where the forward pass ended,
    /// so that every call makes the same events.
    pub(super) fn backward_top(&self, nodes: &[Node], declared: &mut BTreeSet<Target>) -> TokenStream {
        self.backward_nodes(nodes, None, declared, true)
    }

    pub(super) fn backward_nodes(
        &self,
        nodes: &[Node],
        scope: Option<LoopId>,
        declared: &mut BTreeSet<Target>,
        top: bool,
    ) -> TokenStream {
        let site_var = match scope {
            Some(l) => idents::loop_site(l).into_token_stream(),
            None => idents::exit().into_token_stream(),
        };
        let mut out = TokenStream::new();
        for m in (0..nodes.len()).rev() {
            let code = self.backward_node(&nodes[m], scope, declared);
            if code.is_empty() {
                continue;
            }
            let before = exit_sites(&nodes[..m], scope);
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

    pub(super) fn backward_node(
        &self,
        node: &Node,
        scope: Option<LoopId>,
        declared: &mut BTreeSet<Target>,
    ) -> TokenStream {
        match node {
            Node::Step(step) => self.step_backward(step, declared),
            Node::If { id, arms, recorded, .. } if *recorded => {
                let s = idents::branch_record(*id);
                let a0 = self.backward(&arms[0], scope, declared);
                let a1 = self.backward(&arms[1], scope, declared);
                quote!(match #s.pop() { 0u32 => { #a0 } _ => { #a1 } })
            }
            Node::Match { id, arms, recorded, .. } if *recorded => {
                let s = idents::branch_record(*id);
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
                let (s, x) = (idents::loop_record(*id), idents::loop_site(*id));
                // A loop over layers rebinds its variable to the iteration's layer.
                let rebind = match head {
                    LoopKind::Layers { param, path, ident, .. } => {
                        let list = self.value_ref(*param);
                        let (i, ix) = (idents::layer_index(*id), idents::layer_index_stack(*id));
                        let twin = self.layer_tangent_binding(head, *id);
                        quote!(let #i = #ix.pop(); let #ident = &(#list) #(.#path)* [#i]; #twin)
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

    /// The events at the end of each iteration of loop `id`'s backward half.
    pub(super) fn iteration_events(&self, id: LoopId) -> TokenStream {
        let mut out = TokenStream::new();
        if let Some((param, path)) = self.hooks.per_layer.get(&id)
            && let Some(VarKind::Param(p)) = self.f.vars.get(*param).map(|v| v.kind)
        {
            let name = format!("{}.{path}", self.param_ident(p));
            let (members, r, g, i) = (
                idents::members(path),
                self.value_ref(*param),
                idents::model_gradient(self.f, *param),
                idents::layer_index(id),
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
    pub(super) fn hook_events(&self, m: usize, declared: &BTreeSet<Target>) -> TokenStream {
        let (hooks, mut out) = (self.hooks, TokenStream::new());
        for (kind, param, path) in hooks.ready.get(&m).into_iter().flatten() {
            let Some(VarKind::Param(i)) = self.f.vars.get(*param).map(|v| v.kind) else {
                continue;
            };
            let ident = self.param_ident(i);
            let r = self.value_ref(*param);
            let gradient = |target: Target| {
                if self.has(&target, declared) {
                    let g = idents::gradient(self.f, &target);
                    quote!(&#g)
                } else {
                    quote!(&::core::option::Option::None)
                }
            };
            let name = format!("{ident}.{path}");
            let members = idents::members(path);
            // `model.w` as the user wrote it, so that a field that does not
            // exist is the user's one error.
            let user = idents::user_members(path);
            let like = quote!(&#r #(.#user)*);
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
                    let g = idents::model_gradient(self.f, *param);
                    quote!(::autodiff::__private::ready_in_place(#name, &mut #g #(.#members)*, #like);)
                }
            });
        }
        if hooks.progress {
            out.extend(quote!(::autodiff::__private::progress();));
        }
        out
    }

    /// The gradient of a parameter: its whole-value gradient (or zeros) plus
    /// the gradients of its fields.
    pub(super) fn assembled_param_grad(&self, index: usize, targets: &BTreeSet<Target>, twin: bool) -> TokenStream {
        let var = self
            .f
            .vars
            .iter()
            .position(|v| v.kind == VarKind::Param(index))
            .unwrap_or_default();
        let r = self.value_ref(var);
        let whole = targets.contains(&Target::Value(var));
        let fields: Vec<&FieldPath> = targets
            .iter()
            .filter_map(|t| match t {
                Target::Field(p, path) if *p == var => Some(path),
                _ => None,
            })
            .collect();
        let indexed = targets
            .iter()
            .any(|t| matches!(t, Target::Indexed { param, .. } if *param == var));
        let (s, f) = (idents::local("__s"), idents::local("__f"));
        // The user's own accesses of the fields, `(&model.w, ..)`: a field
        // that does not exist makes `__s` of the error type, so that rustc
        // reports the user's access alone, not the assembly's as well.
        let probe = {
            let accesses = fields.iter().map(|path| {
                let user = idents::user_members(path);
                quote!(&#r #(.#user)*)
            });
            quote!((#(#accesses,)*))
        };
        // Each field's gradient added into the assembled one, `__s`.
        let adds: Vec<TokenStream> = fields
            .iter()
            .map(|path| {
                let field = self.gradient_ident(&Target::Field(var, (*path).clone()), twin);
                let members = idents::members(path);
                quote! {
                    if let ::core::option::Option::Some(#f) = #field {
                        ::autodiff::__private::Gradient::accumulate(&mut #s #(.#members)*, #f);
                    }
                }
            })
            .collect();
        if indexed {
            // Layers accumulated in place; fields and the whole value are added.
            let g = self.model_gradient_ident(var, twin);
            let add_whole = whole.then(|| {
                let whole = self.gradient_ident(&Target::Value(var), twin);
                quote! {
                    if let ::core::option::Option::Some(#f) = #whole {
                        ::autodiff::__private::Gradient::accumulate(&mut #s, #f);
                    }
                }
            });
            let span = r.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span());
            let fill = quote_spanned!(span=> ::autodiff::__private::fill_like(#r, &mut #s););
            return quote!({
                let mut #s = ::autodiff::__private::probed(#g, #probe);
                #(#adds)*
                #add_whole
                #fill
                #s
            });
        }
        if whole && fields.is_empty() {
            let g = self.gradient_ident(&Target::Value(var), twin);
            return quote!(::autodiff::__private::or_zeros(#g, #r));
        }
        if fields.is_empty() {
            return quote!(::autodiff::__private::zeros_for(#r));
        }
        // Field gradients move into an empty gradient (no zero-filling, no
        // sums when each field has one); what got none is zero-filled last.
        let start = if whole {
            let g = self.gradient_ident(&Target::Value(var), twin);
            quote!(::autodiff::__private::or_empty(#g, #r))
        } else {
            quote!(::autodiff::__private::empty_like(#r))
        };
        // Spanned at the parameter, like the other calls that need
        // `Gradient`, so that one missing derive reads as one error there.
        let span = r.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span());
        let fill = quote_spanned!(span=> ::autodiff::__private::fill_like(#r, &mut #s););
        quote!({
            let mut #s = ::autodiff::__private::probed(#start, #probe);
            #(#adds)*
            #fill
            #s
        })
    }
}
