//! Control flow: `if` and `match` (as statements and as values), loops
//! (over ranges, constant data and a model's layers, `while`, `loop`), and
//! `break`, `continue` and `return`.
use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::ToTokens;

use super::{EnclosingLoop, Lowerer, REJECT_ITERATE, Tail};
use crate::ir::{Adapter, ArmHead, Block, BranchId, Exit, ExitKind, LoopKind, Stmt, UseOfActive, VarId, VarKind};

impl Lowerer<'_> {
    pub(super) fn branch(&mut self, e: &syn::Expr, tail: Tail, tokens: TokenStream, out: &mut Block) {
        match e {
            syn::Expr::If(i) => {
                if let syn::Expr::Let(l) = &*i.cond {
                    self.errors.spanned(
                        l.let_token,
                        "`if let` is not supported: use `match` on a constant value",
                    );
                    return;
                }
                let id: BranchId = self.branch_count;
                self.branch_count += 1;
                let cond = self.opaque(&i.cond, UseOfActive::Allowed);
                let then = self.region(&i.then_branch.stmts, tail);
                let otherwise = match &i.else_branch {
                    Some((_, else_expr)) => match &**else_expr {
                        syn::Expr::Block(b) => self.region(&b.block.stmts, tail),
                        nested => {
                            // `else if`: an arm holding the nested `if`.
                            self.scopes.push(HashMap::new());
                            self.depth += 1;
                            let mut block = Block { stmts: Vec::new() };
                            self.branch(nested, tail, nested.to_token_stream(), &mut block);
                            self.depth -= 1;
                            self.scopes.pop();
                            block
                        }
                    },
                    None => {
                        if let Tail::Into(var) = tail {
                            self.errors.spanned(
                                i.if_token,
                                format!("an `if` that gives `{}` its value needs an `else`", self.vars[var].name),
                            );
                        }
                        Block { stmts: Vec::new() }
                    }
                };
                out.stmts.push(Stmt::If {
                    id,
                    cond,
                    arms: [then, otherwise],
                    tokens,
                    declares: None,
                });
            }
            syn::Expr::Match(m) => {
                let id: BranchId = self.branch_count;
                self.branch_count += 1;
                let scrutinee = self.opaque(&m.expr, UseOfActive::Allowed);
                let mut arms = Vec::new();
                for arm in &m.arms {
                    self.scopes.push(HashMap::new());
                    // The guard sees the pattern's bindings.
                    self.bind_pattern(&arm.pat);
                    let head = ArmHead {
                        pat: arm.pat.to_token_stream(),
                        guard: arm.guard.as_ref().map(|(_, g)| self.opaque(g, UseOfActive::Allowed)),
                    };
                    let body = match &*arm.body {
                        syn::Expr::Block(b) if b.label.is_none() => self.region(&b.block.stmts, tail),
                        other => self.expr_region(other, tail),
                    };
                    self.scopes.pop();
                    arms.push((head, body));
                }
                out.stmts.push(Stmt::Match {
                    id,
                    scrutinee,
                    arms,
                    tokens,
                    declares: None,
                });
            }
            _ => {}
        }
    }

    pub(super) fn lower_loop(&mut self, e: &syn::Expr, tokens: TokenStream, out: &mut Block) {
        let id = self.loop_count;
        self.loop_count += 1;
        let (label, body_stmts) = match e {
            syn::Expr::ForLoop(f) => (&f.label, &f.body.stmts),
            syn::Expr::While(w) => (&w.label, &w.body.stmts),
            syn::Expr::Loop(l) => (&l.label, &l.body.stmts),
            _ => return,
        };
        let label = label.as_ref().map(|l| l.name.clone());
        // The iterator and a `while` condition are evaluated outside the body's scope.
        let mut pattern_scope = false;
        let kind = match e {
            syn::Expr::ForLoop(f)
                if let Some((param, path, adapters)) = self.positioned_layers(&f.expr)
                    && let Some(layer) = layer_binding(&f.pat, &adapters) =>
            {
                let adapters: Vec<Adapter> = adapters
                    .iter()
                    .map(|(method, arg)| Adapter {
                        method: method.clone(),
                        arg: arg.map(|a| self.opaque(a, UseOfActive::Rejected(REJECT_ITERATE))),
                    })
                    .collect();
                self.scopes.push(HashMap::new());
                pattern_scope = true;
                // The pattern's other names (an index, zipped data) are constants.
                if !adapters.is_empty() {
                    self.bind_pattern(&f.pat);
                }
                let item = self.declare_ident(&layer, VarKind::Layer { param, loop_id: id });
                LoopKind::Layers {
                    param,
                    path,
                    item,
                    ident: layer,
                    pat: (!adapters.is_empty()).then(|| (*f.pat).clone()),
                    adapters,
                }
            }
            syn::Expr::ForLoop(f) => {
                // A range yields integers: its bounds may read an active
                // value's shape (`0..h.nrows()`), never its elements.
                let use_of_active = if is_range(&f.expr) {
                    UseOfActive::Allowed
                } else {
                    UseOfActive::Rejected(REJECT_ITERATE)
                };
                let iter = self.opaque(&f.expr, use_of_active);
                self.scopes.push(HashMap::new());
                self.bind_pattern(&f.pat);
                pattern_scope = true;
                LoopKind::For {
                    pat: (*f.pat).clone(),
                    iter,
                }
            }
            syn::Expr::While(w) => {
                if let syn::Expr::Let(l) = &*w.cond {
                    self.errors.spanned(
                        l.let_token,
                        "`while let` is not supported: use `loop` with `match` on a constant value",
                    );
                }
                LoopKind::While(self.opaque(&w.cond, UseOfActive::Allowed))
            }
            _ => LoopKind::Loop,
        };
        self.loops.push(EnclosingLoop {
            id,
            label: label.as_ref().map(|l| l.ident.to_string()),
        });
        let body = self.region(body_stmts, Tail::Discard);
        self.loops.pop();
        if pattern_scope {
            self.scopes.pop();
        }
        out.stmts.push(Stmt::Loop {
            id,
            kind,
            label,
            body,
            tokens,
        });
    }

    pub(super) fn exit(&mut self, e: &syn::Expr, out: &mut Block) {
        let (kind, label, span) = match e {
            syn::Expr::Break(b) => {
                if let Some(value) = &b.expr {
                    self.errors.spanned(
                        value,
                        "`break` with a value is not supported: assign the value to a `let mut` declared before the loop",
                    );
                }
                (ExitKind::Break, &b.label, b.break_token.span)
            }
            syn::Expr::Continue(c) => (ExitKind::Continue, &c.label, c.continue_token.span),
            _ => return,
        };
        let target = match label {
            Some(label) => {
                let name = label.ident.to_string();
                self.loops
                    .iter()
                    .rposition(|l| l.label.as_deref() == Some(name.as_str()))
            }
            None => self.loops.len().checked_sub(1),
        };
        let Some(target) = target else {
            // rustc reports it on the original function.
            self.errors
                .push(syn::Error::new(span, "`break` and `continue` must be inside a loop"));
            return;
        };
        let ends = self.loops[target..].iter().rev().map(|l| l.id).collect();
        let site = self.site();
        out.stmts.push(Stmt::Exit(Exit {
            kind,
            site,
            ends,
            tokens: e.to_token_stream(),
        }));
    }

    /// `LAYERS.enumerate()`, `LAYERS.zip(data)` (and both) where `LAYERS`
    /// is [`Self::layers_of`]: the parameter, the path, and the adapters,
    /// innermost first.
    #[allow(clippy::type_complexity)]
    pub(super) fn positioned_layers<'e>(
        &self,
        iter: &'e syn::Expr,
    ) -> Option<(VarId, Vec<syn::Ident>, Vec<(syn::Ident, Option<&'e syn::Expr>)>)> {
        let mut adapters = Vec::new();
        let mut e = iter;
        loop {
            if let Some((param, path)) = self.layers_of(e) {
                adapters.reverse();
                return Some((param, path, adapters));
            }
            match e {
                syn::Expr::MethodCall(m) if m.turbofish.is_none() => {
                    match (m.method.to_string().as_str(), m.args.len()) {
                        ("enumerate", 0) => adapters.push((m.method.clone(), None)),
                        ("zip", 1) => adapters.push((m.method.clone(), m.args.first())),
                        _ => return None,
                    }
                    e = &m.receiver;
                }
                syn::Expr::Paren(p) => e = &p.expr,
                _ => return None,
            }
        }
    }

    /// `&model.layers` or `model.layers.iter()`: the parameter and the path
    /// of a field whose elements a loop visits.
    pub(super) fn layers_of(&self, iter: &syn::Expr) -> Option<(VarId, Vec<syn::Ident>)> {
        let field = match iter {
            syn::Expr::Reference(r) if r.mutability.is_none() => &*r.expr,
            syn::Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => &*m.receiver,
            syn::Expr::Paren(p) => return self.layers_of(&p.expr),
            _ => return None,
        };
        if !matches!(field, syn::Expr::Field(_)) {
            return None;
        }
        let (base, path, None) = self.element_path(field)? else {
            return None;
        };
        matches!(self.vars[base].kind, VarKind::Param(_)).then_some((base, path))
    }
}

/// The name a loop's pattern gives the layer, through the adapters'
/// tuples: `layer` of `(i, layer)` for `.enumerate()`, of `(layer, x)` for
/// `.zip(xs)`. None when the pattern does not bind it to a plain name.
fn layer_binding(pat: &syn::Pat, adapters: &[(syn::Ident, Option<&syn::Expr>)]) -> Option<syn::Ident> {
    let Some(((method, _), inner)) = adapters.split_last() else {
        return match pat {
            syn::Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() && p.mutability.is_none() => {
                Some(p.ident.clone())
            }
            _ => None,
        };
    };
    let syn::Pat::Tuple(t) = pat else { return None };
    if t.elems.len() != 2 {
        return None;
    }
    // `.enumerate()` puts the layer second; `.zip(..)` first.
    let k = usize::from(method == "enumerate");
    layer_binding(&t.elems[k], inner)
}

/// `a..b` and its kin, in parentheses or not.
pub(super) fn is_range(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Range(_) => true,
        syn::Expr::Paren(p) => is_range(&p.expr),
        _ => false,
    }
}
