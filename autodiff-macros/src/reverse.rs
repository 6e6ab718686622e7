//! Builds the program that `emit` prints: each active expression flattened
//! into steps (one call each, nested calls in temporaries), constant code
//! kept as written, and for every loop and branch whether the backward pass
//! needs a record of it.
//!
//! The backward pass is this program read backwards, as in Tapenade: each
//! step becomes its VJP (the first contribution to a gradient initialises it,
//! later ones are added: the fan-out sum); a branch replays the arm its
//! forward pass recorded; a loop runs its body's adjoint once per recorded
//! iteration, last first, starting each one where the forward iteration
//! ended (a `break`, `continue` or `return` site, or the body's end).

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

use crate::activity::{Activity, Need};
use crate::ir::{ArmHead, Callee, Exit, Expr, Function, LoopKind, Op, Stmt, UseOfActive, VarId, VarKind, match_reads};
use crate::program::{
    Hoist, Kept, Node, Operand, Program, Step, Value, recorded_loops, reversed, structural, walk_mut,
};

pub fn reverse(f: &Function, activity: &Activity) -> Program {
    let mut b = Builder {
        f,
        activity,
        steps: 0,
        hoists: 0,
        need: activity.need.clone(),
    };
    let mut nodes = b.block(&f.body.stmts, 0);
    // An exit records its site into each loop it ends that keeps a record.
    let recorded = recorded_loops(&nodes);
    walk_mut(&mut nodes, &mut |node| {
        if let Node::Exit { records, ends, .. } = node {
            *records = ends.iter().copied().filter(|l| recorded.contains(l)).collect();
        }
    });
    Program { nodes, need: b.need }
}

struct Builder<'a> {
    f: &'a Function,
    activity: &'a Activity,
    steps: usize,
    hoists: usize,
    need: Vec<Need>,
}

impl Builder<'_> {
    fn block(&mut self, stmts: &[Stmt], depth: usize) -> Vec<Node> {
        let mut out = Vec::new();
        for stmt in stmts {
            self.stmt(stmt, depth, &mut out);
        }
        out
    }

    /// `let y;` before a branch whose arms give the constant `y` its value.
    fn declare_constant(&self, declares: Option<VarId>, out: &mut Vec<Node>) {
        if let Some(var) = declares.filter(|&v| !self.varied_var(v)) {
            let v = &self.f.vars[var];
            let name = v.ident_at(proc_macro2::Span::call_site());
            let ty = v.ty.as_ref().map(|ty| quote!(: #ty));
            let mutability = v.mutable.then(|| quote!(mut));
            out.push(Node::Verbatim(quote!(let #mutability #name #ty;)));
        }
    }

    /// A read of `var` from constant code must go to where the value lives.
    fn reads_active(&self, var: VarId) -> bool {
        self.activity.varied(var) && !self.f.is_param_like(var)
    }

    /// A constant expression, with its reads of active values marked for
    /// the printer to substitute; `None` when it reads none.
    fn kept(&self, expr: &Expr) -> Option<Kept> {
        let mut reads = Vec::new();
        expr.reads(&mut reads);
        reads
            .iter()
            .any(|&r| self.reads_active(r))
            .then(|| self.kept_parts(expr))
    }

    fn kept_parts(&self, expr: &Expr) -> Kept {
        let mut reads = Vec::new();
        expr.reads(&mut reads);
        if !reads.iter().any(|&r| self.reads_active(r)) {
            return Kept::Tokens(self.constant_tokens(expr));
        }
        match expr {
            Expr::Var(var, _) => Kept::Read(*var),
            Expr::Ref(inner) => Kept::Seq(vec![Kept::Tokens(quote!(&)), self.kept_parts(inner)]),
            Expr::Opaque(o) => Kept::Opaque(Box::new(o.clone())),
            Expr::Call { callee, args, .. } => {
                let mut args: Vec<Kept> = args.iter().map(|a| self.kept_parts(a)).collect();
                match callee {
                    Callee::Op(Op::Neg) => Kept::Parens(vec![Kept::Seq(
                        std::iter::once(Kept::Tokens(quote!(-))).chain(args).collect(),
                    )]),
                    Callee::Op(op) => {
                        let symbol = match op {
                            Op::Add => quote!(+),
                            Op::Sub => quote!(-),
                            Op::Mul => quote!(*),
                            Op::Div | Op::Neg => quote!(/),
                        };
                        let (right, left) = (args.pop(), args.pop());
                        let operands = left
                            .into_iter()
                            .chain(std::iter::once(Kept::Tokens(symbol)))
                            .chain(right);
                        Kept::Parens(vec![Kept::Seq(operands.collect())])
                    }
                    Callee::Module(path) => Kept::Seq(vec![Kept::Tokens(quote!(#path)), Kept::Parens(args)]),
                    Callee::Method { method, turbofish } => {
                        let receiver = if args.is_empty() {
                            Kept::Tokens(TokenStream::new())
                        } else {
                            args.remove(0)
                        };
                        Kept::Seq(vec![
                            Kept::Parens(vec![receiver]),
                            Kept::Tokens(quote!(.#method #turbofish)),
                            Kept::Parens(args),
                        ])
                    }
                }
            }
            // A field of a parameter reads no active local (parameters are
            // read where they are).
            Expr::Field { .. } => Kept::Tokens(self.constant_tokens(expr)),
        }
    }

    fn varied_var(&self, var: VarId) -> bool {
        self.activity.varied(var) || self.f.vars[var].kind == VarKind::Ret
    }

    fn stmt(&mut self, stmt: &Stmt, depth: usize, out: &mut Vec<Node>) {
        match stmt {
            // Reading an active value here is an error of `activity` (such
            // code would not be differentiated), so it is kept as written.
            Stmt::Const { code, tokens } if code.use_of_active == UseOfActive::Printed => {
                let mut reads: Vec<VarId> = Vec::new();
                for var in code.reads().filter(|&v| self.reads_active(v)) {
                    if !reads.contains(&var) && !matches!(self.f.vars[var].kind, VarKind::Param(_)) {
                        reads.push(var);
                    }
                }
                out.push(Node::Print {
                    reads,
                    tokens: tokens.clone(),
                })
            }
            Stmt::Const { tokens, .. } => out.push(Node::Verbatim(tokens.clone())),
            Stmt::Alias { of, tokens } => {
                if !self.varied_var(*of) {
                    out.push(Node::Verbatim(tokens.clone()));
                }
            }
            Stmt::Assign {
                var,
                value,
                items,
                written,
                span,
            } => {
                // A branch's value for a constant: `y = 2.0;` in its arm.
                if !self.varied_var(*var) && written.is_none() {
                    let name = self.f.vars[*var].ident_at(*span);
                    out.push(match self.kept(value) {
                        Some(code) => Node::Substituted {
                            prefix: quote!(#name =),
                            code: Kept::Seq(vec![code, Kept::Tokens(quote!(;))]),
                        },
                        None => {
                            let value = self.constant_tokens(value);
                            Node::Verbatim(quote!(#name = #value;))
                        }
                    });
                    return;
                }
                if !self.varied_var(*var)
                    && let Some(written) = written
                {
                    let Some(code) = self.kept(value) else {
                        out.push(Node::Verbatim(written.tokens.clone()));
                        return;
                    };
                    // `let n = h.nrows();`, rebuilt so that only the value is
                    // substituted (`let h = h.nrows();` binds the user's `h`).
                    let v = &self.f.vars[*var];
                    let name = v.ident_at(*span);
                    let prefix = if written.declares {
                        let mutability = v.mutable.then(|| quote!(mut));
                        let ty = v.ty.as_ref().map(|ty| quote!(: #ty));
                        quote!(let #mutability #name #ty =)
                    } else {
                        quote!(#name =)
                    };
                    out.push(Node::Substituted {
                        prefix,
                        code: Kept::Seq(vec![code, Kept::Tokens(quote!(;))]),
                    });
                    return;
                }
                let split = (!items.is_empty()).then_some(items.len());
                self.assign(*var, value, split, *span, depth, out);
            }
            Stmt::If {
                id,
                cond,
                arms,
                tokens,
                declares,
            } => {
                let arms = [
                    self.block(&arms[0].stmts, depth + 1),
                    self.block(&arms[1].stmts, depth + 1),
                ];
                if !arms.iter().any(|a| structural(a)) && !cond.reads().any(|r| self.reads_active(r)) {
                    out.push(Node::Verbatim(tokens.clone()));
                    return;
                }
                self.declare_constant(*declares, out);
                let recorded = arms.iter().any(|a| reversed(a));
                out.push(Node::If {
                    id: *id,
                    cond: cond.clone(),
                    arms,
                    recorded,
                });
            }
            Stmt::Match {
                id,
                scrutinee,
                arms,
                tokens,
                declares,
            } => {
                let arms: Vec<(ArmHead, Vec<Node>)> = arms
                    .iter()
                    .map(|(head, body)| (head.clone(), self.block(&body.stmts, depth + 1)))
                    .collect();
                let reads_active = match_reads(scrutinee, &arms).any(|r| self.reads_active(r));
                if !arms.iter().any(|(_, a)| structural(a)) && !reads_active {
                    out.push(Node::Verbatim(tokens.clone()));
                    return;
                }
                self.declare_constant(*declares, out);
                let recorded = arms.iter().any(|(_, a)| reversed(a));
                out.push(Node::Match {
                    id: *id,
                    scrutinee: scrutinee.clone(),
                    arms,
                    recorded,
                });
            }
            Stmt::Loop {
                id,
                kind,
                label,
                body,
                tokens,
            } => {
                let body = self.block(&body.stmts, depth + 1);
                let head_reads_active = match kind {
                    LoopKind::While(c) | LoopKind::For { iter: c, .. } => c.reads().any(|r| self.reads_active(r)),
                    _ => false,
                };
                if !structural(&body) && !head_reads_active {
                    out.push(Node::Verbatim(tokens.clone()));
                    return;
                }
                out.push(Node::Loop {
                    id: *id,
                    head: kind.clone(),
                    label: label.clone(),
                    recorded: reversed(&body),
                    body,
                });
            }
            Stmt::Exit(Exit {
                kind,
                site,
                ends,
                tokens,
            }) => out.push(Node::Exit {
                kind: *kind,
                site: *site,
                records: Vec::new(),
                ends: ends.clone(),
                tokens: tokens.clone(),
            }),
        }
    }

    /// `var = value`, flattened into steps.
    fn assign(
        &mut self,
        var: VarId,
        value: &Expr,
        split: Option<usize>,
        span: Span,
        depth: usize,
        out: &mut Vec<Node>,
    ) {
        let reversed = self.activity.active(var);
        let value = match value {
            Expr::Call { callee, args, .. } if !self.activity.need_of(value).is_never() => {
                let args = args.iter().map(|a| self.operand(a, depth, reversed, out)).collect();
                Value::Call {
                    callee: callee.clone(),
                    args,
                    split,
                }
            }
            inner @ (Expr::Var(..) | Expr::Field { .. }) if !self.activity.need_of(inner).is_never() => {
                Value::Copy(self.operand(inner, depth, reversed, out))
            }
            _ => Value::Const(self.constant_tokens(value)),
        };
        let need = value.operands().iter().map(|a| self.operand_need(a)).collect();
        self.steps += 1;
        out.push(Node::Step(Step {
            id: self.steps,
            var,
            value,
            span,
            need,
            reversed,
            depth,
        }));
    }

    fn operand_need(&self, operand: &Operand) -> Need {
        match operand {
            Operand::Var { var, .. } => self.need[*var].clone(),
            Operand::Field { param, .. } => self.need[*param].clone(),
            Operand::Const { .. } => Need::Never,
        }
    }

    /// An argument of a step: a varied call becomes a temporary's step first.
    fn operand(&mut self, expr: &Expr, depth: usize, reversed: bool, out: &mut Vec<Node>) -> Operand {
        let (mut inner, mut by_ref) = (expr, false);
        while let Expr::Ref(r) = inner {
            (inner, by_ref) = (r, true);
        }
        let varied = !self.activity.need_of(inner).is_never();
        match inner {
            Expr::Call { span, .. } if varied => {
                let temp = self.need.len();
                self.need.push(self.activity.need_of(inner));
                self.assign_temp(temp, inner, *span, depth, reversed, out);
                Operand::Var {
                    var: temp,
                    by_ref: true,
                    span: *span,
                }
            }
            // A parameter is passed as it is (a reference parameter is already one).
            Expr::Var(var, span) if varied || self.f.is_param_like(*var) => Operand::Var {
                var: *var,
                by_ref,
                span: *span,
            },
            Expr::Field {
                base,
                path,
                index,
                span,
            } if varied => {
                // The index is a constant like any other argument: hoisted
                // when it reads a local, so the backward pass reads it too.
                let index = index.as_ref().map(|i| (i.at, Box::new(self.hoisted(&i.expr))));
                Operand::Field {
                    param: *base,
                    path: path.clone(),
                    index,
                    by_ref,
                    span: *span,
                }
            }
            _ => self.constant(expr, inner, by_ref),
        }
    }

    fn assign_temp(&mut self, temp: VarId, call: &Expr, span: Span, depth: usize, reversed: bool, out: &mut Vec<Node>) {
        let Expr::Call { callee, args, .. } = call else { return };
        let args = args
            .iter()
            .map(|a| self.operand(a, depth, reversed, out))
            .collect::<Vec<_>>();
        let need = args.iter().map(|a| self.operand_need(a)).collect();
        self.steps += 1;
        out.push(Node::Step(Step {
            id: self.steps,
            var: temp,
            value: Value::Call {
                callee: callee.clone(),
                args,
                split: None,
            },
            span,
            need,
            // A temporary is useful exactly when its statement's variable is.
            reversed,
            depth,
        }));
    }

    /// An element's index, always hoisted: the backward pass names the
    /// element its gradient goes to by the hoisted local.
    fn hoisted(&mut self, index: &crate::ir::Opaque) -> Operand {
        let id = self.hoists;
        self.hoists += 1;
        let tokens = index.expr.to_token_stream();
        let span = syn::spanned::Spanned::span(&index.expr);
        Operand::Const {
            tokens: tokens.clone(),
            by_ref: false,
            hoist: Some(Hoist {
                id,
                value: quote!(#tokens),
                is_reference: false,
            }),
            span,
        }
    }

    /// A constant argument. One that reads only parameters, literals and
    /// outside names is the same everywhere, so it is written at each use;
    /// one that reads a local is hoisted.
    fn constant(&mut self, whole: &Expr, inner: &Expr, by_ref: bool) -> Operand {
        let span = whole.span();
        let tokens = self.constant_tokens(inner);
        let mut reads = Vec::new();
        inner.reads(&mut reads);
        let reads_local = reads.iter().any(|&v| !self.f.is_param_like(v));
        if !reads_local {
            return Operand::Const {
                tokens,
                by_ref,
                hoist: None,
                span,
            };
        }
        let id = self.hoists;
        self.hoists += 1;
        let root_is_param = place_root(inner).is_some_and(|v| self.f.is_param_like(v));
        let is_place = place_root(inner).is_some();
        let hoist = if by_ref && root_is_param {
            Hoist {
                id,
                value: quote!(&#tokens),
                is_reference: true,
            }
        } else if is_place {
            Hoist {
                id,
                value: quote!(::core::clone::Clone::clone(&#tokens)),
                is_reference: false,
            }
        } else {
            Hoist {
                id,
                value: tokens.clone(),
                is_reference: false,
            }
        };
        Operand::Const {
            tokens,
            by_ref,
            hoist: Some(hoist),
            span,
        }
    }

    /// A constant expression as Rust, with constant locals by their own names.
    fn constant_tokens(&self, expr: &Expr) -> TokenStream {
        match expr {
            Expr::Call { tokens, .. } => tokens.clone(),
            Expr::Ref(inner) => {
                let inner = self.constant_tokens(inner);
                quote!(&#inner)
            }
            Expr::Var(var, span) => self.f.vars[*var].ident_at(*span).into_token_stream(),
            Expr::Field {
                base,
                path,
                index,
                span,
            } => {
                let base = self.constant_tokens(&Expr::Var(*base, *span));
                match index {
                    Some(i) => {
                        let (list, rest) = path.split_at(i.at);
                        let index = &i.expr.expr;
                        quote!(#base #(.#list)* [#index] #(.#rest)*)
                    }
                    None => quote!(#base #(.#path)*),
                }
            }
            Expr::Opaque(o) => o.expr.to_token_stream(),
        }
    }
}

/// The variable a place expression (`x`, `x.f`, `x[i]`) borrows from.
fn place_root(expr: &Expr) -> Option<VarId> {
    match expr {
        Expr::Var(v, _) => Some(*v),
        Expr::Field { base, .. } => Some(*base),
        Expr::Opaque(o) => o.place_of,
        _ => None,
    }
}
