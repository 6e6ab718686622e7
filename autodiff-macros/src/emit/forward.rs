//! The forward pass as Rust: each step's module call, where its value is
//! stored, the records of regions, and constant code with the active values
//! it reads substituted.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::Ident;
use syn::visit_mut::VisitMut;

use super::{Emitter, Phase, idents};
use crate::ir::{Callee, ExitKind, LoopKind, Opaque, VarId};
use crate::plan::Storage;
use crate::program::{Kept, Node, Operand, Step, Value, walk};

impl Emitter<'_> {
    /// An expression of type `&T` for a variable's current value.
    pub(super) fn value_ref(&self, var: VarId) -> TokenStream {
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
                let v = idents::value(self.f, var);
                quote!(&#v)
            }
            Storage::Slot { .. } | Storage::Result => {
                let v = idents::value(self.f, var);
                quote!(::autodiff::__private::live(&#v))
            }
            Storage::Item(tuple, k) => {
                let t = self.value_ref(tuple);
                if self.is_array(tuple) {
                    quote!(&(#t)[#k])
                } else {
                    let k = syn::Index::from(k);
                    quote!(&(#t).#k)
                }
            }
            Storage::Layer => self.layer_ident(var).into_token_stream(),
            // Never read by generated code: constant operands are tokens or hoisted.
            Storage::Constant => {
                let name = idents::unread_constant(var);
                quote!(&#name)
            }
        }
    }

    /// Whether `var` holds an array of outputs (`let [q, k, v] = split(..)`)
    /// rather than a tuple: its items are indexed, not fields.
    pub(super) fn is_array(&self, var: VarId) -> bool {
        matches!(
            self.f.vars.get(var).and_then(|v| v.ty.as_ref()),
            Some(syn::Type::Array(_))
        )
    }

    pub(super) fn layer_ident(&self, var: VarId) -> Ident {
        self.plan
            .layers
            .get(&var)
            .map_or_else(|| idents::unbound_layer(var), |layer| layer.ident.clone())
    }

    pub(super) fn operand(&self, op: &Operand, phase: Phase) -> TokenStream {
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
                param,
                path,
                index,
                by_ref,
                ..
            } => {
                let base = match self.plan.storage[*param] {
                    Storage::Param(i) => self.param_ident(i).to_token_stream(),
                    Storage::Layer => self.layer_ident(*param).into_token_stream(),
                    _ => quote!(()),
                };
                // One element of a list: its index, hoisted before the step.
                let place = match index.as_ref().map(|(at, i)| (at, &**i)) {
                    Some((at, Operand::Const { hoist: Some(h), .. })) => {
                        let (list, rest) = path.split_at(*at);
                        let k = idents::hoist(h.id);
                        quote!(#base #(.#list)* [#k] #(.#rest)*)
                    }
                    _ => quote!(#base #(.#path)*),
                };
                if *by_ref {
                    quote!(&#place)
                } else {
                    quote!((&#place).clone())
                }
            }
            Operand::Const {
                tokens, by_ref, hoist, ..
            } => match hoist {
                None if *by_ref => quote!(&(#tokens)),
                None => tokens.clone(),
                Some(h) => {
                    let k = idents::hoist(h.id);
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
    pub(super) fn stacked(&self, step: &Step) -> bool {
        step.depth > 0 || self.f.early_return
    }

    /// `f(args)`, or `receiver.method(rest)` for a method, and with
    /// `vjp_tail` (`&y, g, need`) the VJP call `f_vjp(args, &y, g, need)`.
    pub(super) fn call(
        &self,
        callee: &Callee,
        args: Vec<TokenStream>,
        vjp_tail: Option<TokenStream>,
        span: Span,
    ) -> TokenStream {
        let vjp = vjp_tail.is_some();
        let tail = vjp_tail.into_iter();
        match callee {
            Callee::Module(path) => {
                let mut path = path.clone();
                if vjp && let Some(last) = path.segments.last_mut() {
                    last.ident = idents::vjp_of(&last.ident, last.ident.span());
                }
                quote_spanned!(span=> #path(#(#args,)* #(#tail)*))
            }
            Callee::Op(op) => {
                let name = Ident::new(op.module_name(), span);
                let name = if vjp { idents::vjp_of(&name, span) } else { name };
                quote_spanned!(span=> ::autodiff::__private::#name(#(#args,)* #(#tail)*))
            }
            Callee::Method { method, turbofish } => {
                let method = if vjp {
                    idents::vjp_of(method, method.span())
                } else {
                    method.clone()
                };
                let mut args = args.into_iter();
                let receiver = args.next().unwrap_or_default();
                quote_spanned!(span=> (#receiver).#method #turbofish (#(#args,)* #(#tail)*))
            }
        }
    }

    pub(super) fn step_forward(&self, step: &Step) -> TokenStream {
        if self.gathers_given_output(step) {
            // The outputs gathered again would be clones of what the caller
            // passed as `y`: the tuple's VJP reads nothing of it.
            let (v, y) = (idents::value(self.f, step.var), idents::local("__y"));
            return quote!(let #v = #y;);
        }
        let mut out = TokenStream::new();
        for h in step.hoists() {
            let (k, value) = (idents::hoist(h.id), &h.value);
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
        let v = idents::value(self.f, step.var);
        let new = idents::local("__new");
        let storage = self.plan.storage[step.var];
        let declared = self.f.vars.get(step.var).and_then(|var| var.ty.as_ref());
        // The tangent is computed before the value is stored: a step that
        // reads the variable it assigns (`h = tanh(&h)`) reads the old one.
        let twin = self.tangent.is_some().then(|| {
            let (t, new_t) = (idents::tangent(&v), idents::local("__new__t"));
            let y = if storage == Storage::Local { &v } else { &new };
            let tangent = self.step_tangent(step, quote!(&#y));
            match storage {
                Storage::Local => {
                    let ty = declared.map(|ty| quote!(: ::core::option::Option<#ty>));
                    quote_spanned!(step.span=> let #t #ty = #tangent;)
                }
                Storage::Slot { saved: true } => {
                    let s = idents::tangent(&idents::value_stack(self.f, step.var));
                    quote!(let #new_t = #tangent; ::autodiff::__private::save(&mut #t, &mut #s, #new_t);)
                }
                Storage::Slot { saved: false } => {
                    quote!(let #new_t = #tangent; ::autodiff::__private::recycle!(::autodiff::__private::set(&mut #t, #new_t));)
                }
                Storage::Result => quote!(#t = ::core::option::Option::Some(#tangent);),
                Storage::Param(_) | Storage::Item(..) | Storage::Layer | Storage::Constant => quote!(),
            }
        });
        out.extend(match storage {
            Storage::Local => {
                let ty = declared.map(|ty| quote!(: #ty));
                quote_spanned!(step.span=> let #v #ty = #value; #twin)
            }
            Storage::Slot { saved: true } => {
                let s = idents::value_stack(self.f, step.var);
                quote!(let #new = #value; #twin ::autodiff::__private::save(&mut #v, &mut #s, #new);)
            }
            Storage::Slot { saved: false } => {
                quote!(let #new = #value; #twin ::autodiff::__private::recycle!(::autodiff::__private::set(&mut #v, #new));)
            }
            Storage::Result if twin.is_some() => quote!(let #new = #value; #twin #v = ::core::option::Option::Some(#new);),
            Storage::Result => quote!(#v = ::core::option::Option::Some(#value);),
            Storage::Param(_) | Storage::Item(..) | Storage::Layer | Storage::Constant => quote!(),
        });
        if let (true, Value::Call { callee, .. }, Storage::Local | Storage::Slot { .. } | Storage::Result) =
            (self.checks, &step.value, &self.plan.storage[step.var])
        {
            // Located at the user's call: the check reports it through `#[track_caller]`.
            let (value, module, on) = (
                self.value_ref(step.var),
                callee.module_name(),
                idents::local("__anomaly"),
            );
            out.extend(
                quote_spanned!(step.span=> if #on { (&::autodiff::__private::Probe(#value)).check_forward(#module); }),
            );
        }
        if step.reversed && self.stacked(step) {
            for h in step.hoists() {
                let (k, s) = (idents::hoist(h.id), idents::hoist_stack(h.id));
                out.extend(quote!(#s.push(#k);));
            }
        }
        out
    }

    /// The tangent of a step's value `y` (an `&T` expression).
    /// Whether `step` gathers the outputs of a `_vjp`'s function into the
    /// tuple it returns, which the caller passed as `y`.
    fn gathers_given_output(&self, step: &Step) -> bool {
        let Value::Call {
            callee: Callee::Module(path),
            ..
        } = &step.value
        else {
            return false;
        };
        self.mode == super::Mode::Vjp
            && self.tangent.is_none()
            && !self.forward_only
            && self.plan.storage[step.var] == Storage::Local
            && self
                .f
                .vars
                .get(step.var)
                .is_some_and(|var| var.kind == crate::ir::VarKind::Ret)
            && path.segments.iter().any(|s| s.ident == "__private")
            && path
                .segments
                .last()
                .is_some_and(|s| s.ident.to_string().starts_with("tuple"))
    }

    fn step_tangent(&self, step: &Step, y: TokenStream) -> TokenStream {
        match &step.value {
            Value::Call { callee, args, .. } => {
                let tangents: Vec<TokenStream> = args.iter().map(|a| self.tangent_operand(a, false)).collect();
                let args = args.iter().map(|a| self.operand(a, Phase::Forward)).collect();
                self.tangent_call(
                    callee,
                    args,
                    {
                        let t = quote_spanned!(step.span=> (#(#tangents,)*));
                        quote!(#y, #t)
                    },
                    false,
                    step.span,
                )
            }
            // Typed by the value, so that a twin whose first tangent is zero
            // has the value's type (not that of a reference it is coerced to).
            Value::Copy(a) => {
                let t = self.tangent_operand(a, true);
                quote!(::autodiff::__private::tangent_of_copy(#t, #y))
            }
            Value::Const(_) => quote!(::autodiff::__private::no_tangent(#y)),
        }
    }

    /// In a loop over layers, the tangent of the layer: the same element of
    /// the model's tangent.
    pub(super) fn layer_tangent_binding(&self, head: &LoopKind, id: crate::ir::LoopId) -> TokenStream {
        let LoopKind::Layers { param, path, item, .. } = head else {
            return quote!();
        };
        if self.tangent.is_none() || !self.has_tangent(*param) {
            return quote!();
        }
        let base = match self.plan.storage[*param] {
            Storage::Layer => self.layer_tangent(*param).into_token_stream(),
            _ => idents::param_tangent(self.param_index(*param)).into_token_stream(),
        };
        let (t, i, lt) = (idents::local("__t"), idents::layer_index(id), self.layer_tangent(*item));
        quote!(let #lt = ::core::option::Option::map(::core::option::Option::as_ref(&#base), |#t| &#t #(.#path)* [#i]);)
    }

    /// Constant code with its reads of active values going to where the
    /// values live.
    pub(super) fn kept(&self, code: &Kept) -> TokenStream {
        match code {
            Kept::Tokens(tokens) => tokens.clone(),
            Kept::Read(var) => {
                let r = self.value_ref(*var);
                quote!((*#r))
            }
            Kept::Opaque(o) => self.substituted(o),
            Kept::Seq(parts) => parts.iter().map(|p| self.kept(p)).collect(),
            Kept::Parens(parts) => {
                let parts = parts.iter().map(|p| self.kept(p));
                quote!((#(#parts),*))
            }
        }
    }

    /// Code kept as written, with active values read from where they live.
    pub(super) fn substituted(&self, code: &Opaque) -> TokenStream {
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

    pub(super) fn forward(&self, nodes: &[Node]) -> TokenStream {
        nodes.iter().map(|n| self.forward_node(n)).collect()
    }

    pub(super) fn forward_node(&self, node: &Node) -> TokenStream {
        match node {
            Node::Verbatim(tokens) => tokens.clone(),
            Node::Substituted { prefix, code } => {
                let code = self.kept(code);
                quote!(#prefix #code)
            }
            Node::Print { .. } if self.mode == super::Mode::Vjp => quote!(),
            Node::Print { reads, tokens } if reads.is_empty() => tokens.clone(),
            Node::Print { reads, tokens } => {
                // The values under the user's names: a float by value, an
                // array by reference.
                let bindings = reads.iter().map(|&var| {
                    let name = self.f.vars[var].ident_at(proc_macro2::Span::call_site());
                    let r = self.value_ref(var);
                    quote!(let #name = ::autodiff::__private::read(&(*#r));)
                });
                quote!({ #(#bindings)* #tokens })
            }
            Node::Step(step) => self.step_forward(step),
            Node::If {
                id,
                cond,
                arms,
                recorded,
            } => {
                let cond = self.substituted(cond);
                let s = idents::branch_record(*id);
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
                let s = idents::branch_record(*id);
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
                let s = idents::loop_record(*id);
                let start = recorded.then(|| quote!(#s.push(0u32);));
                let end = recorded.then(|| {
                    let fall = crate::ir::FALL_THROUGH;
                    quote!(#s.push(#fall);)
                });
                let label = label.as_ref().map(|l| quote!(#l:));
                let body = self.forward(body);
                if let LoopKind::Layers {
                    param,
                    path,
                    ident,
                    adapters,
                    pat,
                    ..
                } = head
                {
                    let list = self.value_ref(*param);
                    let (i, ix) = (idents::layer_index(*id), idents::layer_index_stack(*id));
                    let record = recorded.then(|| quote!(#ix.push(#i);));
                    let pat = pat
                        .as_ref()
                        .map_or_else(|| ident.to_token_stream(), |p| p.to_token_stream());
                    let adapters = adapters.iter().map(|a| {
                        let (method, arg) = (&a.method, a.arg.as_ref().map(|o| self.substituted(o)));
                        quote!(.#method(#arg))
                    });
                    let twin = self.layer_tangent_binding(head, *id);
                    return quote! {
                        #start
                        #label for (#i, #pat) in ::core::iter::Iterator::enumerate((#list) #(.#path)*.iter() #(#adapters)*) {
                            #record
                            #twin
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
                    let s = idents::loop_record(*l);
                    quote!(#s.push(#site);)
                });
                let leave = if *kind == ExitKind::Return {
                    let (exit, label) = (idents::exit(), idents::forward_label());
                    quote!(#exit = #site; break #label;)
                } else {
                    quote!(#tokens;)
                };
                quote!({ #(#pushes)* #leave })
            }
        }
    }

    /// The declarations of the stacks that the forward pass pushes to: the
    /// records of regions and the hoisted constants stored per use.
    pub(super) fn stacks(&self, nodes: &[Node]) -> Vec<TokenStream> {
        let stack = quote!(::autodiff::__private::Stack);
        let mut out = Vec::new();
        walk(nodes, &mut |node| match node {
            Node::Step(step) if step.reversed && self.stacked(step) => {
                for h in step.hoists() {
                    let s = idents::hoist_stack(h.id);
                    out.push(quote!(let mut #s = #stack::new();));
                }
            }
            Node::If { id, recorded: true, .. } | Node::Match { id, recorded: true, .. } => {
                let s = idents::branch_record(*id);
                out.push(quote!(let mut #s: #stack<u32> = #stack::new();));
            }
            Node::Loop {
                id,
                head,
                recorded: true,
                ..
            } => {
                let s = idents::loop_record(*id);
                out.push(quote!(let mut #s: #stack<u32> = #stack::new();));
                if let LoopKind::Layers { .. } = head {
                    let ix = idents::layer_index_stack(*id);
                    out.push(quote!(let mut #ix: #stack<usize> = #stack::new();));
                }
            }
            _ => {}
        });
        out
    }
}
