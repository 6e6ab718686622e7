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
                let code = self.opaque_macro(&m.mac, stmt.to_token_stream());
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
            syn::Pat::Tuple(t) if matches!(&*init.expr, syn::Expr::Call(_)) => {
                let value = self.expr(&init.expr);
                let tuple = self.declare("a tuple", VarKind::Temp);
                self.vars[tuple].assigns += 1;
                self.vars[tuple].ty = ty;
                let mut items = Vec::new();
                for (index, elem) in t.elems.iter().enumerate() {
                    match elem {
                        syn::Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() && p.mutability.is_none() => {
                            let item = self.declare_ident(&p.ident, VarKind::Local);
                            self.vars[item].item = Some((tuple, index));
                            items.push(Some(item));
                        }
                        syn::Pat::Wild(_) => items.push(None),
                        other => {
                            self.errors.spanned(
                                other,
                                "tuple patterns of a module's outputs hold only names and `_`: `let (a, b) = duplicate(&x);`",
                            );
                            items.push(None);
                        }
                    }
                }
                out.stmts.push(Stmt::Assign {
                    var: tuple,
                    value,
                    items,
                    written: Some(Written { tokens, declares: true }),
                    span: local.span(),
                });
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
        let value = self.expr(e);
        self.vars[var].assigns += 1;
        out.stmts.push(Stmt::Assign {
            var,
            value,
            items: vec![],
            written,
            span: e.span(),
        });
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
                let code = self.opaque_macro(&m.mac, tokens.clone());
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
