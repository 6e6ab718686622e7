//! Statements: `let` and its patterns, assignments and compound
//! assignments, expression statements, and the regions they form.
use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;

use super::expr::is_reference;
use super::{Lowerer, REJECT_MUTATION, REJECT_OPERATOR, REJECT_PATTERN, REJECT_STATEMENT, Tail};
use crate::ir::{Block, Callee, Exit, ExitKind, Expr, Op, Stmt, UseOfActive, Var, VarId, VarKind, Written};

impl Lowerer<'_> {
    /// Lowers a block in a new scope, one region deeper.
    pub(super) fn region(&mut self, stmts: &[syn::Stmt], tail: Tail) -> Block {
        self.scopes.push(HashMap::new());
        self.depth += 1;
        let mut block = Block { stmts: Vec::new() };
        for (i, stmt) in stmts.iter().enumerate() {
            match (stmt, tail) {
                (syn::Stmt::Expr(e, None), Tail::Into(var)) if i + 1 == stmts.len() => {
                    self.value_into(var, e, None, &mut block)
                }
                _ => self.stmt(stmt, &mut block),
            }
        }
        if let Tail::Into(var) = tail
            && !matches!(stmts.last(), Some(syn::Stmt::Expr(_, None)))
            && !block_diverges(stmts)
        {
            let span = stmts.last().map_or_else(Span::call_site, |s| s.span());
            self.errors.push(syn::Error::new(
                span,
                format!(
                    "this branch must end with the value of `{}` (an expression without `;`)",
                    self.vars[var].name
                ),
            ));
        }
        self.depth -= 1;
        self.scopes.pop();
        block
    }

    /// A region of one expression, a `match` arm without braces: lowered as
    /// the region `{ e }` would be.
    pub(super) fn expr_region(&mut self, e: &syn::Expr, tail: Tail) -> Block {
        self.scopes.push(HashMap::new());
        self.depth += 1;
        let mut block = Block { stmts: Vec::new() };
        match tail {
            Tail::Into(var) => self.value_into(var, e, None, &mut block),
            _ => self.expr_stmt(e, quote::quote!(#e;), &mut block),
        }
        self.depth -= 1;
        self.scopes.pop();
        block
    }

    pub(super) fn stmt(&mut self, stmt: &syn::Stmt, out: &mut Block) {
        match stmt {
            syn::Stmt::Local(local) => self.local(local, out),
            syn::Stmt::Item(item) => self.errors.spanned(
                item,
                "items inside a differentiable function are not supported: define them outside the function",
            ),
            syn::Stmt::Macro(m) => {
                let code = self.opaque_macro(&m.mac, stmt.to_token_stream(), true);
                out.stmts.push(Stmt::Const {
                    code,
                    tokens: stmt.to_token_stream(),
                })
            }
            // Kept as a statement: a tail without `;` (`k += 1` ending a
            // loop's body) gets one, since generated code may follow it.
            syn::Stmt::Expr(e, _) => self.expr_stmt(e, quote::quote!(#e;), out),
        }
    }

    pub(super) fn local(&mut self, local: &syn::Local, out: &mut Block) {
        let tokens = local.to_token_stream();
        let Some(init) = &local.init else {
            self.errors.spanned(
                local,
                "`let` without a value is not supported: bind the value where it is computed",
            );
            return;
        };
        if let Some((else_token, _)) = &init.diverge {
            self.errors.spanned(
                else_token,
                "`let ... else` is not supported: use `match` on a constant value",
            );
            return;
        }
        let (pat, ty) = match &local.pat {
            syn::Pat::Type(t) => (&*t.pat, Some((*t.ty).clone())),
            other => (other, None),
        };
        match pat {
            syn::Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                // `let layer = &net.layers[i];`: another name for the element,
                // when its index cannot change (it reads no `let mut`).
                if p.mutability.is_none()
                    && ty.is_none()
                    && let syn::Expr::Reference(r) = &*init.expr
                    && r.mutability.is_none()
                    && let Some((_, _, Some((_, index)))) = self.element_path(&r.expr)
                    && !self.reads_mutable(&index)
                {
                    let code = self.opaque(&init.expr, UseOfActive::Allowed);
                    let var = self.declare_ident(&p.ident, VarKind::Local);
                    self.vars[var].place = Some((*r.expr).clone());
                    out.stmts.push(Stmt::Const { code, tokens });
                    return;
                }
                // `let a = h;` or `let a = &h;` of a value that never changes:
                // another name for it.
                if p.mutability.is_none()
                    && ty.is_none()
                    && let Some(source) = self.alias_source(&init.expr)
                {
                    self.scopes
                        .last_mut()
                        .expect("a scope")
                        .insert(p.ident.to_string(), source);
                    if is_reference(&init.expr) {
                        self.ref_names.insert((self.scopes.len(), p.ident.to_string()));
                    }
                    out.stmts.push(Stmt::Alias { of: source, tokens });
                    return;
                }
                // The value is lowered before the name is bound: `let h = relu(&h)`
                // reads the old `h`.
                let var = self.vars.len();
                let mut block = Block { stmts: Vec::new() };
                self.vars.push(Var {
                    name: p.ident.to_string(),
                    ident: Some(p.ident.clone()),
                    kind: VarKind::Local,
                    ty: ty.clone(),
                    depth: self.depth,
                    assigns: 0,
                    item: None,
                    mutable: p.mutability.is_some(),
                    place: None,
                });
                self.value_into(var, &init.expr, Some(Written { tokens, declares: true }), &mut block);
                self.scopes
                    .last_mut()
                    .expect("a scope")
                    .insert(p.ident.to_string(), var);
                self.ref_names.remove(&(self.scopes.len(), p.ident.to_string()));
                out.stmts.extend(block.stmts);
            }
            syn::Pat::Wild(_) => {
                let value = self.expr(&init.expr);
                let var = self.declare("_", VarKind::Temp);
                self.vars[var].assigns += 1;
                out.stmts.push(Stmt::Assign {
                    var,
                    value,
                    items: vec![],
                    written: Some(Written { tokens, declares: true }),
                    span: local.span(),
                });
            }
            syn::Pat::Tuple(_) | syn::Pat::Slice(_) if self.splits(&init.expr) => {
                // `let (h, c) = ...` of a tuple, `let [q, k, v] = ...` of an
                // array of outputs (`split`), whose length the generated
                // code states so that it is inferred everywhere.
                let (elems, array) = match pat {
                    syn::Pat::Tuple(t) => (&t.elems, false),
                    syn::Pat::Slice(s) => (&s.elems, true),
                    _ => unreachable!("matched above"),
                };
                let ty = match ty {
                    None if array => {
                        let n = elems.len();
                        Some(syn::parse_quote!([_; #n]))
                    }
                    ty => ty,
                };
                let mut names = Vec::new();
                for elem in elems {
                    match elem {
                        syn::Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                            names.push(Some((p.ident.clone(), p.mutability.is_some())));
                        }
                        syn::Pat::Wild(_) => names.push(None),
                        other => {
                            self.errors.spanned(
                                other,
                                "patterns of a module's outputs hold only names and `_`: `let (a, b) = duplicate(&x);`, `let [q, k, v] = split(&qkv, 3, 2);`",
                            );
                            names.push(None);
                        }
                    }
                }
                // The names are declared after the call, which may read the old ones.
                let value = self.expr(&init.expr);
                let (tuple, items) = self.split_outputs(&names, ty);
                out.stmts.push(Stmt::Assign {
                    var: tuple,
                    value,
                    items: items.clone(),
                    written: Some(Written { tokens, declares: true }),
                    span: local.span(),
                });
                // A `mut` name is a variable of its own, set from its item
                // (an item is never reassigned).
                for (name, item) in names.iter().zip(items) {
                    if let (Some((ident, true)), Some(item)) = (name, item) {
                        let var = self.declare_ident(ident, VarKind::Local);
                        self.vars[var].mutable = true;
                        self.vars[var].assigns += 1;
                        out.stmts.push(Stmt::Assign {
                            var,
                            value: Expr::Var(item, ident.span()),
                            items: vec![],
                            written: Some(Written {
                                tokens: TokenStream::new(),
                                declares: true,
                            }),
                            span: ident.span(),
                        });
                    }
                }
            }
            // `let (mut h, mut c) = (a, b);`: one binding per name, all
            // values lowered before any name is bound.
            syn::Pat::Tuple(t)
                if ty.is_none()
                    && let syn::Expr::Tuple(values) = &*init.expr
                    && values.elems.len() == t.elems.len()
                    && t.elems
                        .iter()
                        .all(|p| matches!(p, syn::Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none()))
                    && !mentions_any(&values.to_token_stream(), &t.to_token_stream()) =>
            {
                let mut bound = Vec::new();
                for (pat, value) in t.elems.iter().zip(&values.elems) {
                    let syn::Pat::Ident(p) = pat else {
                        unreachable!("checked")
                    };
                    let var = self.vars.len();
                    self.vars.push(Var {
                        name: p.ident.to_string(),
                        ident: Some(p.ident.clone()),
                        kind: VarKind::Local,
                        ty: None,
                        depth: self.depth,
                        assigns: 0,
                        item: None,
                        mutable: p.mutability.is_some(),
                        place: None,
                    });
                    // Kept alone when constant: `let mut h = a;`.
                    let tokens = quote::quote!(let #p = #value;);
                    self.value_into(var, value, Some(Written { tokens, declares: true }), out);
                    bound.push((p.ident.to_string(), var));
                }
                for (name, var) in bound {
                    self.scopes.last_mut().expect("a scope").insert(name.clone(), var);
                    self.ref_names.remove(&(self.scopes.len(), name));
                }
            }
            // Any other pattern binds constants: kept as written.
            _ => {
                let code = self.opaque(&init.expr, UseOfActive::Rejected(REJECT_PATTERN));
                self.bind_pattern(pat);
                out.stmts.push(Stmt::Const { code, tokens });
            }
        }
    }

    /// The variable `e` names (`h`, `&h`), if it is one that is never reassigned.
    pub(super) fn alias_source(&self, e: &syn::Expr) -> Option<VarId> {
        match e {
            syn::Expr::Paren(p) => self.alias_source(&p.expr),
            syn::Expr::Reference(r) if r.mutability.is_none() => self.alias_source(&r.expr),
            syn::Expr::Path(p) if p.qself.is_none() => {
                let var = self.lookup(&p.path.get_ident()?.to_string())?;
                (!self.vars[var].mutable).then_some(var)
            }
            _ => None,
        }
    }

    /// Declares the names a pattern binds, as constants.
    pub(super) fn bind_pattern(&mut self, pat: &syn::Pat) -> Vec<VarId> {
        struct Names(Vec<syn::Ident>);
        impl<'ast> Visit<'ast> for Names {
            fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
                self.0.push(p.ident.clone());
                syn::visit::visit_pat_ident(self, p);
            }
        }
        let mut names = Names(Vec::new());
        names.visit_pat(pat);
        names
            .0
            .into_iter()
            .map(|n| self.declare_ident(&n, VarKind::Local))
            .collect()
    }

    /// `var = e` where `e` may be a branch, whose arms assign `var`.
    pub(super) fn value_into(&mut self, var: VarId, e: &syn::Expr, written: Option<Written>, out: &mut Block) {
        match e {
            syn::Expr::Paren(p) => return self.value_into(var, &p.expr, written, out),
            syn::Expr::If(_) | syn::Expr::Match(_) => {
                self.vars[var].assigns += 1;
                let declares = written.as_ref().is_some_and(|w| w.declares);
                let stmt_tokens = written.map_or_else(|| e.to_token_stream(), |w| w.tokens);
                let start = out.stmts.len();
                self.branch(e, Tail::Into(var), stmt_tokens, out);
                if declares
                    && let Some(Stmt::If { declares, .. } | Stmt::Match { declares, .. }) = out.stmts.get_mut(start)
                {
                    *declares = Some(var);
                }
                return;
            }
            syn::Expr::Block(b) if b.label.is_none() => {
                self.errors.spanned(
                    b,
                    "blocks are not supported: write the statements directly in the function body",
                );
                return;
            }
            syn::Expr::Loop(syn::ExprLoop {
                loop_token: syn::token::Loop { span },
                ..
            })
            | syn::Expr::While(syn::ExprWhile {
                while_token: syn::token::While { span },
                ..
            })
            | syn::Expr::ForLoop(syn::ExprForLoop {
                for_token: syn::token::For { span },
                ..
            }) => {
                self.errors.push(syn::Error::new(
                    *span,
                    format!(
                        "a loop cannot give `{}` its value (`break` with a value is not supported): declare `let mut {0} = ...;` before the loop and assign it inside",
                        self.vars[var].name
                    ),
                ));
                return;
            }
            _ => {}
        }
        let value = match e {
            syn::Expr::Tuple(t) if Some(var) == self.ret && t.elems.len() >= 2 => self.outputs(t),
            _ => self.expr(e),
        };
        self.vars[var].assigns += 1;
        out.stmts.push(Stmt::Assign {
            var,
            value,
            items: vec![],
            written,
            span: e.span(),
        });
    }

    /// The function's result `(h, c)`: a module call gathering the outputs,
    /// whose VJP hands each output's gradient back to its value.
    fn outputs(&mut self, t: &syn::ExprTuple) -> Expr {
        // The runtime gathers up to four: `tuple2` to `tuple4`.
        const MAX_OUTPUTS: usize = 4;
        if t.elems.len() > MAX_OUTPUTS {
            self.errors.spanned(
                t,
                format!(
                    "a differentiable function returns at most {MAX_OUTPUTS} outputs; this tuple has {}: split the function in two",
                    t.elems.len()
                ),
            );
        }
        let name = syn::Ident::new(&format!("tuple{}", t.elems.len().min(MAX_OUTPUTS)), t.span());
        let args = t
            .elems
            .iter()
            .take(MAX_OUTPUTS)
            .map(|e| Expr::Ref(Box::new(self.expr(e))))
            .collect();
        Expr::Call {
            callee: Callee::Module(syn::parse_quote_spanned!(t.span()=> ::autodiff::__private::#name)),
            args,
            span: t.span(),
            tokens: t.to_token_stream(),
        }
    }

    pub(super) fn expr_stmt(&mut self, e: &syn::Expr, tokens: TokenStream, out: &mut Block) {
        match e {
            syn::Expr::Assign(a) => self.assign(&a.left, &a.right, None, e, tokens, out),
            syn::Expr::Binary(b) if is_compound(&b.op) => {
                let op = match b.op {
                    syn::BinOp::AddAssign(_) => Some(Op::Add),
                    syn::BinOp::SubAssign(_) => Some(Op::Sub),
                    syn::BinOp::MulAssign(_) => Some(Op::Mul),
                    syn::BinOp::DivAssign(_) => Some(Op::Div),
                    _ => None,
                };
                match op {
                    Some(op) => self.assign(&b.left, &b.right, Some(op), e, tokens, out),
                    None => {
                        let code = self.opaque(e, UseOfActive::Rejected(REJECT_OPERATOR));
                        out.stmts.push(Stmt::Const { code, tokens })
                    }
                }
            }
            syn::Expr::If(_) | syn::Expr::Match(_) => self.branch(e, Tail::Discard, tokens, out),
            syn::Expr::ForLoop(_) | syn::Expr::While(_) | syn::Expr::Loop(_) => self.lower_loop(e, tokens, out),
            syn::Expr::Break(_) | syn::Expr::Continue(_) => self.exit(e, out),
            syn::Expr::Return(r) => {
                let ret = self.ret.expect("set before the body");
                match &r.expr {
                    Some(value) => self.value_into(ret, value, None, out),
                    None => self.errors.spanned(r, "`return` needs the result: `return loss;`"),
                }
                self.early_return = true;
                let site = self.site();
                let ends = self.loops.iter().rev().map(|l| l.id).collect();
                out.stmts.push(Stmt::Exit(Exit {
                    kind: ExitKind::Return,
                    site,
                    ends,
                    tokens,
                }));
            }
            syn::Expr::Block(b) if b.label.is_none() => self.errors.spanned(
                b,
                "blocks are not supported: write the statements directly in the function body",
            ),
            syn::Expr::Macro(m) => {
                let code = self.opaque_macro(&m.mac, tokens.clone(), true);
                out.stmts.push(Stmt::Const { code, tokens })
            }
            // `write!(out, "{h}").unwrap();`: a printing macro's result checked.
            syn::Expr::MethodCall(m)
                if matches!(m.method.to_string().as_str(), "unwrap" | "expect")
                    && matches!(&*m.receiver, syn::Expr::Macro(_)) =>
            {
                let syn::Expr::Macro(mac) = &*m.receiver else {
                    unreachable!()
                };
                let mut code = self.opaque_macro(&mac.mac, tokens.clone(), true);
                // The arguments of `expect` are constant code.
                for arg in &m.args {
                    code.macro_reads.extend(self.opaque(arg, UseOfActive::Allowed).reads());
                }
                out.stmts.push(Stmt::Const { code, tokens })
            }
            syn::Expr::MethodCall(_) => {
                let code = self.opaque(e, UseOfActive::Rejected(REJECT_MUTATION));
                out.stmts.push(Stmt::Const { code, tokens })
            }
            _ => {
                let code = self.opaque(e, UseOfActive::Rejected(REJECT_STATEMENT));
                out.stmts.push(Stmt::Const { code, tokens })
            }
        }
    }

    /// `place = e` or `place op= e`.
    pub(super) fn assign(
        &mut self,
        place: &syn::Expr,
        value: &syn::Expr,
        op: Option<Op>,
        whole: &syn::Expr,
        tokens: TokenStream,
        out: &mut Block,
    ) {
        if let (syn::Expr::Tuple(t), None) = (place, op)
            && self.splits(value)
        {
            return self.assign_outputs(t, value, tokens, whole, out);
        }
        let target = match place {
            syn::Expr::Path(p) if p.qself.is_none() => p.path.get_ident().and_then(|i| self.lookup(&i.to_string())),
            _ => None,
        };
        let Some(var) = target.filter(|&v| !matches!(self.vars[v].kind, VarKind::Param(_))) else {
            // An element, a field, a parameter or an outside variable: constant code,
            // unless it writes into an active value.
            let code = self.opaque(whole, UseOfActive::Rejected(REJECT_MUTATION));
            out.stmts.push(Stmt::Const { code, tokens });
            return;
        };
        match op {
            None => self.value_into(
                var,
                value,
                Some(Written {
                    tokens,
                    declares: false,
                }),
                out,
            ),
            Some(op) => {
                let rhs = self.expr(value);
                self.vars[var].assigns += 1;
                out.stmts.push(Stmt::Assign {
                    var,
                    value: Expr::Call {
                        callee: Callee::Op(op),
                        args: vec![
                            Expr::Ref(Box::new(Expr::Var(var, place.span()))),
                            Expr::Ref(Box::new(rhs)),
                        ],
                        span: whole.span(),
                        tokens: whole.to_token_stream(),
                    },
                    items: vec![],
                    written: Some(Written {
                        tokens,
                        declares: false,
                    }),
                    span: whole.span(),
                });
            }
        }
    }
}

impl Lowerer<'_> {
    /// Whether `e` is a call whose outputs a tuple pattern may split: a
    /// module's (`duplicate(&x)`) or a model's method (`self.cell.step(..)`).
    fn splits(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Paren(p) => self.splits(&p.expr),
            syn::Expr::Call(_) => true,
            syn::Expr::MethodCall(m) => self.is_model(&m.receiver),
            _ => false,
        }
    }

    /// The tuple of a split call and one item per name (none for `_`). A
    /// name without `mut` is the item itself; a `mut` one gets a hidden item.
    fn split_outputs(
        &mut self,
        names: &[Option<(syn::Ident, bool)>],
        ty: Option<syn::Type>,
    ) -> (VarId, Vec<Option<VarId>>) {
        let tuple = self.declare("a tuple", VarKind::Temp);
        self.vars[tuple].assigns += 1;
        self.vars[tuple].ty = ty;
        let items = names
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let (ident, mutable) = name.as_ref()?;
                let item = if *mutable {
                    self.declare(&ident.to_string(), VarKind::Temp)
                } else {
                    self.declare_ident(ident, VarKind::Local)
                };
                self.vars[item].item = Some((tuple, index));
                Some(item)
            })
            .collect();
        (tuple, items)
    }

    /// `(h, c) = self.cell.step(..);`: the call's outputs into `let mut`
    /// bindings declared before.
    fn assign_outputs(
        &mut self,
        place: &syn::ExprTuple,
        value: &syn::Expr,
        tokens: TokenStream,
        whole: &syn::Expr,
        out: &mut Block,
    ) {
        let mut targets = Vec::new();
        for elem in &place.elems {
            let var = match elem {
                syn::Expr::Infer(_) => None,
                syn::Expr::Path(p) if p.qself.is_none() => {
                    match p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                        Some(var) if self.vars[var].mutable && !matches!(self.vars[var].kind, VarKind::Param(_)) => {
                            Some(var)
                        }
                        Some(var) => {
                            self.errors.spanned(
                                elem,
                                format!(
                                    "`{}` is not declared `let mut`: declare it `let mut {0} = ...;` before assigning it outputs",
                                    self.vars[var].name
                                ),
                            );
                            None
                        }
                        None => {
                            self.errors
                                .spanned(elem, "this is not a local variable of the function");
                            None
                        }
                    }
                }
                other => {
                    self.errors.spanned(
                        other,
                        "outputs are assigned to names and `_` only: `(h, c) = self.cell.step(&x, &h, &c);`",
                    );
                    None
                }
            };
            targets.push(var);
        }
        let value = self.expr(value);
        let names: Vec<Option<(syn::Ident, bool)>> = targets
            .iter()
            .map(|t| t.map(|v| (self.vars[v].ident_at(whole.span()), true)))
            .collect();
        let (tuple, items) = self.split_outputs(&names, None);
        out.stmts.push(Stmt::Assign {
            var: tuple,
            value,
            items: items.clone(),
            written: Some(Written {
                tokens,
                declares: false,
            }),
            span: whole.span(),
        });
        for (target, item) in targets.into_iter().zip(items) {
            if let (Some(var), Some(item)) = (target, item) {
                self.vars[var].assigns += 1;
                out.stmts.push(Stmt::Assign {
                    var,
                    value: Expr::Var(item, whole.span()),
                    items: vec![],
                    written: Some(Written {
                        tokens: TokenStream::new(),
                        declares: false,
                    }),
                    span: whole.span(),
                });
            }
        }
    }
}

/// Whether `code` names an identifier that `pattern` binds (`let (a, b) =
/// (b, a)` swaps, and cannot be split into two `let`s).
fn mentions_any(code: &TokenStream, pattern: &TokenStream) -> bool {
    fn idents(tokens: &TokenStream, out: &mut Vec<String>) {
        for tree in tokens.clone() {
            match tree {
                proc_macro2::TokenTree::Ident(i) => out.push(i.to_string()),
                proc_macro2::TokenTree::Group(g) => idents(&g.stream(), out),
                _ => {}
            }
        }
    }
    let (mut used, mut bound) = (Vec::new(), Vec::new());
    idents(code, &mut used);
    idents(pattern, &mut bound);
    bound.iter().any(|b| b != "mut" && used.contains(b))
}

/// Expressions whose value is `()` even without a `;`: assignments and loops.
pub(super) fn is_unit_statement(e: &syn::Expr) -> bool {
    matches!(
        e,
        syn::Expr::Assign(_) | syn::Expr::ForLoop(_) | syn::Expr::While(_) | syn::Expr::Loop(_)
    ) || matches!(e, syn::Expr::Binary(b) if is_compound(&b.op))
}

pub(super) fn is_compound(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

pub(super) fn block_diverges(stmts: &[syn::Stmt]) -> bool {
    matches!(
        stmts.last(),
        Some(syn::Stmt::Expr(
            syn::Expr::Return(_) | syn::Expr::Break(_) | syn::Expr::Continue(_),
            _
        ))
    )
}
