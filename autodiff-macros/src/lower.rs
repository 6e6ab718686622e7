//! From `syn` to the IR in one pass: names resolved to variables (shadowing
//! makes a new one), expressions as trees, loops and branches as regions.
//! This is the one place that knows the grammar of a differentiable body.
//!
//! What can never be differentiated (closures that see active values are
//! found later, by `activity`) is reported here, every error of the function
//! at once: `unsafe`, `async`, `?`, items, `let ... else`, `if let`,
//! `break` with a value, control flow inside an expression.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;

use crate::errors::Errors;
use crate::ir::{
    ArmHead, Block, BranchId, Callee, Exit, ExitKind, Expr, Function, LoopId, LoopKind, NegationSite, Op, Opaque,
    SiteId, Stmt, UseOfActive, Var, VarId, VarKind,
};
use crate::signature::Signature;

/// ndarray's methods that compute values: on an active array they would not
/// be differentiated, so they are errors rather than module calls.
const ARRAY_METHODS: &[&str] = &[
    "sum",
    "mean",
    "mapv",
    "map",
    "mapv_into",
    "mapv_inplace",
    "map_inplace",
    "t",
    "dot",
    "sqrt",
    "exp",
    "ln",
    "abs",
    "powi",
    "powf",
    "clone",
    "to_owned",
    "into_owned",
    "view",
    "row",
    "column",
    "slice",
    "select",
    "fold",
    "iter",
    "into_iter",
    "sum_axis",
    "mean_axis",
    "var",
    "std",
    "max",
    "min",
    "reversed_axes",
    "into_shape_with_order",
    "to_shape",
    "insert_axis",
    "index_axis",
    "assign",
    "fill",
    "signum",
    "recip",
    "tanh",
    "sin",
    "cos",
];

/// Methods that read only the shape of an array: allowed on active values,
/// whose shape is constant.
const SHAPE_QUERIES: &[&str] = &[
    "shape", "dim", "raw_dim", "len", "nrows", "ncols", "ndim", "is_empty", "len_of",
];

/// Where the value of a block's final expression goes.
#[derive(Clone, Copy)]
enum Tail {
    /// Into this variable (a `let` of a branch, or the function's result).
    Into(VarId),
    /// Nowhere: a loop body, or a branch used as a statement.
    Discard,
}

struct EnclosingLoop {
    id: LoopId,
    label: Option<String>,
}

struct Lowerer<'e> {
    errors: &'e mut Errors,
    vars: Vec<Var>,
    scopes: Vec<HashMap<String, VarId>>,
    depth: usize,
    loops: Vec<EnclosingLoop>,
    loop_count: usize,
    branch_count: usize,
    next_site: SiteId,
    ret: Option<VarId>,
    early_return: bool,
    /// Names bound to `&h` (scope depth, name): they are references.
    ref_names: std::collections::HashSet<(usize, String)>,
    /// Each unary `-` of the body, by its node's address, to its place in the
    /// order a `syn` visit of the function meets them ([`NegationSite`]).
    negation_sites: HashMap<usize, NegationSite>,
    negations: Vec<(NegationSite, Expr)>,
    /// Parameters whose type is an array or a float: never a model.
    array_params: Vec<usize>,
}

pub fn lower(sig: &Signature<'_>, errors: &mut Errors) -> Function {
    let mut l = Lowerer {
        errors,
        vars: Vec::new(),
        scopes: vec![HashMap::new()],
        depth: 0,
        loops: Vec::new(),
        loop_count: 0,
        branch_count: 0,
        next_site: crate::ir::FALL_THROUGH + 1,
        ret: None,
        early_return: false,
        ref_names: Default::default(),
        negation_sites: negation_sites(sig.func),
        negations: Vec::new(),
        array_params: sig
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| crate::signature::is_array_or_float(p.ty))
            .map(|(i, _)| i)
            .collect(),
    };
    for (index, param) in sig.params.iter().enumerate() {
        let id = l.declare(param.ident.to_string(), VarKind::Param(index));
        l.vars[id].assigns = 1;
    }
    let func = sig.func;
    let ret = l.declare("the result".into(), VarKind::Ret);
    l.ret = Some(ret);
    let mut body = Block { stmts: Vec::new() };
    let stmts = &func.block.stmts;
    let ends_with_value = matches!(stmts.last(), Some(syn::Stmt::Expr(e, None)) if !is_unit_statement(e));
    let ends_with_return = matches!(stmts.last(), Some(syn::Stmt::Expr(syn::Expr::Return(_), _)));
    for (i, stmt) in stmts.iter().enumerate() {
        let last = i + 1 == stmts.len();
        match stmt {
            // `return x;` as the last statement is the tail `x`.
            syn::Stmt::Expr(syn::Expr::Return(r), _) if last => match &r.expr {
                Some(value) => l.value_into(ret, value, None, &mut body),
                None => l.errors.spanned(r, "`return` needs the result: `return loss;`"),
            },
            syn::Stmt::Expr(e, None) if last && ends_with_value => l.value_into(ret, e, None, &mut body),
            _ => l.stmt(stmt, &mut body),
        }
    }
    if !ends_with_value && !ends_with_return {
        l.errors.push(syn::Error::new(
            func.block.brace_token.span.close(),
            "the body must end with the result expression (no `;`), for example `cross_entropy(&z, labels)`",
        ));
    }
    Function {
        vars: l.vars,
        body,
        ret,
        early_return: l.early_return,
        loops: l.loop_count,
        branches: l.branch_count,
        negations: l.negations,
    }
}

/// Numbers each unary `-` of the function in the order `syn::visit` meets it,
/// keyed by its node's address (valid while the function is borrowed).
fn negation_sites(func: &syn::ItemFn) -> HashMap<usize, NegationSite> {
    struct Count(HashMap<usize, NegationSite>);
    impl<'ast> syn::visit::Visit<'ast> for Count {
        fn visit_expr(&mut self, e: &'ast syn::Expr) {
            if let syn::Expr::Unary(u) = e
                && matches!(u.op, syn::UnOp::Neg(_))
            {
                let site = NegationSite(self.0.len());
                self.0.insert(e as *const syn::Expr as usize, site);
            }
            syn::visit::visit_expr(self, e);
        }
    }
    let mut count = Count(HashMap::new());
    syn::visit::Visit::visit_item_fn(&mut count, func);
    count.0
}

/// Expressions whose value is `()` even without a `;`: assignments and loops.
fn is_unit_statement(e: &syn::Expr) -> bool {
    matches!(
        e,
        syn::Expr::Assign(_) | syn::Expr::ForLoop(_) | syn::Expr::While(_) | syn::Expr::Loop(_)
    ) || matches!(e, syn::Expr::Binary(b) if is_compound(&b.op))
}

fn is_compound(op: &syn::BinOp) -> bool {
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

impl Lowerer<'_> {
    fn declare(&mut self, name: String, kind: VarKind) -> VarId {
        let id = self.vars.len();
        self.vars.push(Var {
            name: name.clone(),
            kind,
            ty: None,
            depth: self.depth,
            assigns: 0,
            item: None,
            mutable: false,
        });
        if matches!(kind, VarKind::Param(_) | VarKind::Local | VarKind::Layer { .. }) {
            self.scopes.last_mut().expect("a scope").insert(name, id);
        }
        id
    }

    fn lookup(&self, name: &str) -> Option<VarId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// Whether the binding a name resolves to is an alias made with `&`.
    fn names_reference(&self, path: &syn::Path) -> bool {
        let Some(name) = path.get_ident().map(|i| i.to_string()) else {
            return false;
        };
        let Some(depth) = self.scopes.iter().rposition(|s| s.contains_key(&name)) else {
            return false;
        };
        self.ref_names.contains(&(depth + 1, name))
    }

    fn site(&mut self) -> SiteId {
        let s = self.next_site;
        self.next_site += 1;
        s
    }

    /// Lowers a block in a new scope, one region deeper.
    fn region(&mut self, stmts: &[syn::Stmt], tail: Tail) -> Block {
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
    fn expr_region(&mut self, e: &syn::Expr, tail: Tail) -> Block {
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

    fn stmt(&mut self, stmt: &syn::Stmt, out: &mut Block) {
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

    fn local(&mut self, local: &syn::Local, out: &mut Block) {
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
                    kind: VarKind::Local,
                    ty: ty.clone(),
                    depth: self.depth,
                    assigns: 0,
                    item: None,
                    mutable: p.mutability.is_some(),
                });
                self.value_into(var, &init.expr, Some(tokens), &mut block);
                self.scopes
                    .last_mut()
                    .expect("a scope")
                    .insert(p.ident.to_string(), var);
                self.ref_names.remove(&(self.scopes.len(), p.ident.to_string()));
                out.stmts.extend(block.stmts);
            }
            syn::Pat::Wild(_) => {
                let value = self.expr(&init.expr);
                let var = self.declare("_".into(), VarKind::Temp);
                self.vars[var].assigns += 1;
                out.stmts.push(Stmt::Assign {
                    var,
                    value,
                    items: vec![],
                    tokens: Some(tokens),
                    span: local.span(),
                });
            }
            syn::Pat::Tuple(t) if matches!(&*init.expr, syn::Expr::Call(_)) => {
                let value = self.expr(&init.expr);
                let tuple = self.declare("a tuple".into(), VarKind::Temp);
                self.vars[tuple].assigns += 1;
                self.vars[tuple].ty = ty;
                let mut items = Vec::new();
                for (index, elem) in t.elems.iter().enumerate() {
                    match elem {
                        syn::Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() && p.mutability.is_none() => {
                            let item = self.declare(p.ident.to_string(), VarKind::Local);
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
                    tokens: Some(tokens),
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
    fn alias_source(&self, e: &syn::Expr) -> Option<VarId> {
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
    fn bind_pattern(&mut self, pat: &syn::Pat) -> Vec<VarId> {
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
            .map(|n| self.declare(n.to_string(), VarKind::Local))
            .collect()
    }

    /// `var = e` where `e` may be a branch, whose arms assign `var`.
    fn value_into(&mut self, var: VarId, e: &syn::Expr, tokens: Option<TokenStream>, out: &mut Block) {
        match e {
            syn::Expr::Paren(p) => return self.value_into(var, &p.expr, tokens, out),
            syn::Expr::If(_) | syn::Expr::Match(_) => {
                self.vars[var].assigns += 1;
                let declares = tokens.as_ref().is_some_and(|t| t.to_string().starts_with("let"));
                let stmt_tokens = tokens.unwrap_or_else(|| e.to_token_stream());
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
            tokens,
            span: e.span(),
        });
    }

    fn expr_stmt(&mut self, e: &syn::Expr, tokens: TokenStream, out: &mut Block) {
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
    fn assign(
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
            None => self.value_into(var, value, Some(tokens), out),
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
                    tokens: Some(tokens),
                    span: whole.span(),
                });
            }
        }
    }

    fn branch(&mut self, e: &syn::Expr, tail: Tail, tokens: TokenStream, out: &mut Block) {
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

    fn lower_loop(&mut self, e: &syn::Expr, tokens: TokenStream, out: &mut Block) {
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
            syn::Expr::ForLoop(f) if self.layers_of(&f.expr).is_some() && matches!(&*f.pat, syn::Pat::Ident(_)) => {
                let (param, path) = self.layers_of(&f.expr).expect("checked");
                let syn::Pat::Ident(p) = &*f.pat else {
                    unreachable!("checked")
                };
                self.scopes.push(HashMap::new());
                pattern_scope = true;
                let item = self.declare(p.ident.to_string(), VarKind::Layer { param, loop_id: id });
                LoopKind::Layers {
                    param,
                    path,
                    item,
                    ident: p.ident.clone(),
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

    fn exit(&mut self, e: &syn::Expr, out: &mut Block) {
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

    /// An expression as a tree of calls over variables; anything else is kept
    /// as written.
    fn expr(&mut self, e: &syn::Expr) -> Expr {
        match e {
            syn::Expr::Paren(p) => self.expr(&p.expr),
            syn::Expr::Group(g) => self.expr(&g.expr),
            syn::Expr::Reference(r) if r.mutability.is_none() => Expr::Ref(Box::new(self.expr(&r.expr))),
            syn::Expr::Reference(_) => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_MUT_REF))),
            syn::Expr::Path(p) if p.qself.is_none() => {
                match p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                    // A name bound to `&h` is a reference to `h`.
                    Some(var) if self.names_reference(&p.path) => Expr::Ref(Box::new(Expr::Var(var, e.span()))),
                    Some(var) => Expr::Var(var, e.span()),
                    None => Expr::Opaque(self.opaque(e, UseOfActive::Allowed)),
                }
            }
            syn::Expr::Call(call) => match &*call.func {
                syn::Expr::Path(func) if func.qself.is_none() && self.callable(&func.path) => {
                    let args = call.args.iter().map(|a| self.expr(a)).collect();
                    Expr::Call {
                        callee: Callee::Module(func.path.clone()),
                        args,
                        span: e.span(),
                        tokens: e.to_token_stream(),
                    }
                }
                _ => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_CALLEE))),
            },
            syn::Expr::Binary(b) => {
                let op = match b.op {
                    syn::BinOp::Add(_) => Op::Add,
                    syn::BinOp::Sub(_) => Op::Sub,
                    syn::BinOp::Mul(_) => Op::Mul,
                    syn::BinOp::Div(_) => Op::Div,
                    syn::BinOp::Eq(_)
                    | syn::BinOp::Ne(_)
                    | syn::BinOp::Lt(_)
                    | syn::BinOp::Le(_)
                    | syn::BinOp::Gt(_)
                    | syn::BinOp::Ge(_)
                    | syn::BinOp::And(_)
                    | syn::BinOp::Or(_) => return Expr::Opaque(self.opaque(e, UseOfActive::Allowed)),
                    _ => return Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_OPERATOR))),
                };
                Expr::Call {
                    callee: Callee::Op(op),
                    args: vec![
                        Expr::Ref(Box::new(self.expr(&b.left))),
                        Expr::Ref(Box::new(self.expr(&b.right))),
                    ],
                    span: e.span(),
                    tokens: quote::quote!((#e)),
                }
            }
            syn::Expr::Unary(u) => match u.op {
                syn::UnOp::Neg(_) => {
                    let operand = self.expr(&u.expr);
                    // Every `-` lowered is a node of the function itself (the
                    // lowering never clones what it lowers), so it has a site.
                    if let Some(&site) = self.negation_sites.get(&(e as *const syn::Expr as usize)) {
                        self.negations.push((site, operand.clone()));
                    }
                    Expr::Call {
                        callee: Callee::Op(Op::Neg),
                        args: vec![Expr::Ref(Box::new(operand))],
                        span: e.span(),
                        tokens: quote::quote!((#e)),
                    }
                }
                syn::UnOp::Not(_) => Expr::Opaque(self.opaque(e, UseOfActive::Allowed)),
                _ => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_DEREF))),
            },
            syn::Expr::Field(f) => match self.field_path(f) {
                Some((base, path)) => Expr::Field {
                    base,
                    path,
                    span: e.span(),
                },
                None => {
                    let message = if self.indexes_a_list(&f.base) {
                        REJECT_LIST_INDEX
                    } else {
                        REJECT_FIELD
                    };
                    Expr::Opaque(self.opaque(e, UseOfActive::Rejected(message)))
                }
            },
            syn::Expr::If(i) => {
                self.errors.spanned(
                    i.if_token,
                    "an `if` inside an expression is not supported: bind it first, `let y = if c { a } else { b };`",
                );
                Expr::Opaque(self.opaque(e, UseOfActive::Allowed))
            }
            syn::Expr::Match(m) => {
                self.errors.spanned(
                    m.match_token,
                    "a `match` inside an expression is not supported: bind it first, `let y = match k { ... };`",
                );
                Expr::Opaque(self.opaque(e, UseOfActive::Allowed))
            }
            syn::Expr::MethodCall(m) if SHAPE_QUERIES.contains(&m.method.to_string().as_str()) => {
                Expr::Opaque(self.opaque(e, UseOfActive::Allowed))
            }
            syn::Expr::MethodCall(m)
                if self.is_model(&m.receiver) && !ARRAY_METHODS.contains(&m.method.to_string().as_str()) =>
            {
                // `self.encoder.forward(&x)`: a differentiable method of a
                // model is a module whose first argument is the receiver.
                let mut args = vec![Expr::Ref(Box::new(self.expr(&m.receiver)))];
                args.extend(m.args.iter().map(|a| self.expr(a)));
                Expr::Call {
                    callee: Callee::Method {
                        method: m.method.clone(),
                        turbofish: m.turbofish.as_ref().map(|t| t.to_token_stream()),
                    },
                    args,
                    span: e.span(),
                    tokens: e.to_token_stream(),
                }
            }
            syn::Expr::MethodCall(_) => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_METHOD))),
            syn::Expr::Index(_) => {
                let message = if self.indexes_a_list(e) {
                    REJECT_LIST_INDEX
                } else {
                    REJECT_INDEX
                };
                Expr::Opaque(self.opaque(e, UseOfActive::Rejected(message)))
            }
            syn::Expr::Cast(_) => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_CAST))),
            syn::Expr::Macro(m) => Expr::Opaque(self.opaque_macro(&m.mac, e.to_token_stream())),
            syn::Expr::Closure(_) => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_CLOSURE))),
            syn::Expr::Lit(_) => Expr::Opaque(self.opaque(e, UseOfActive::Allowed)),
            _ => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_OTHER))),
        }
    }

    /// A model: `self`, a parameter struct, a field of one or a layer of one
    /// (not a parameter whose type is an array or a float).
    fn is_model(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Paren(p) => self.is_model(&p.expr),
            syn::Expr::Reference(r) => self.is_model(&r.expr),
            syn::Expr::Field(f) => self.field_path(f).is_some(),
            syn::Expr::Path(p) if p.qself.is_none() => p
                .path
                .get_ident()
                .and_then(|i| self.lookup(&i.to_string()))
                .is_some_and(|v| match self.vars[v].kind {
                    VarKind::Param(i) => !self.array_params.contains(&i),
                    VarKind::Layer { .. } => true,
                    _ => false,
                }),
            _ => false,
        }
    }

    /// A call `f(...)` is a module call unless `f` is a local (a closure).
    fn callable(&self, path: &syn::Path) -> bool {
        path.get_ident().is_none_or(|i| self.lookup(&i.to_string()).is_none())
    }

    /// `&model.layers` or `model.layers.iter()`: the parameter and the path
    /// of a field whose elements a loop visits.
    fn layers_of(&self, iter: &syn::Expr) -> Option<(VarId, Vec<syn::Ident>)> {
        let field = match iter {
            syn::Expr::Reference(r) if r.mutability.is_none() => &*r.expr,
            syn::Expr::MethodCall(m) if m.method == "iter" && m.args.is_empty() => &*m.receiver,
            syn::Expr::Paren(p) => return self.layers_of(&p.expr),
            _ => return None,
        };
        let syn::Expr::Field(field) = field else { return None };
        let (base, path) = self.field_path(field)?;
        matches!(self.vars[base].kind, VarKind::Param(_)).then_some((base, path))
    }

    /// Whether `e` is, or reads a field of, an element of a parameter's
    /// field: `model.layers[i]`, `model.layers[i].w`.
    fn indexes_a_list(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Index(ix) => matches!(&*ix.expr, syn::Expr::Field(f) if self.field_path(f).is_some()),
            syn::Expr::Field(f) => self.indexes_a_list(&f.base),
            syn::Expr::Paren(p) => self.indexes_a_list(&p.expr),
            _ => false,
        }
    }

    /// `p.a.b` where `p` is a parameter (or a layer of one): the variable and the path.
    fn field_path(&self, f: &syn::ExprField) -> Option<(VarId, Vec<syn::Ident>)> {
        let syn::Member::Named(member) = &f.member else {
            return None;
        };
        let (base, mut path) = match &*f.base {
            syn::Expr::Path(p) if p.qself.is_none() => {
                let var = self.lookup(&p.path.get_ident()?.to_string())?;
                matches!(self.vars[var].kind, VarKind::Param(_) | VarKind::Layer { .. }).then_some((var, Vec::new()))?
            }
            syn::Expr::Field(inner) => self.field_path(inner)?,
            syn::Expr::Paren(p) => match &*p.expr {
                syn::Expr::Field(inner) => self.field_path(inner)?,
                _ => return None,
            },
            _ => return None,
        };
        path.push(member.clone());
        Some((base, path))
    }

    /// Code kept as written: records what each name in it resolves to, and
    /// reports what may never appear in a differentiable function.
    fn opaque(&mut self, e: &syn::Expr, use_of_active: UseOfActive) -> Opaque {
        let mut visitor = Names {
            lowerer: self,
            names: Vec::new(),
            macro_reads: Vec::new(),
        };
        visitor.visit_expr(e);
        Opaque {
            expr: e.clone(),
            names: visitor.names,
            macro_reads: visitor.macro_reads,
            use_of_active,
        }
    }

    /// A macro's tokens cannot be parsed, but the names in them can be seen.
    fn opaque_macro(&mut self, mac: &syn::Macro, tokens: TokenStream) -> Opaque {
        let mut names = Vec::new();
        self.macro_names(mac.tokens.clone(), &mut names);
        let expr = syn::parse2::<syn::Expr>(tokens).unwrap_or_else(|_| {
            syn::Expr::Macro(syn::ExprMacro {
                attrs: vec![],
                mac: mac.clone(),
            })
        });
        Opaque {
            expr,
            names: Vec::new(),
            macro_reads: names.into_iter().flatten().collect(),
            use_of_active: UseOfActive::Rejected(REJECT_MACRO),
        }
    }

    fn macro_names(&self, tokens: TokenStream, names: &mut Vec<Option<VarId>>) {
        for tree in tokens {
            match tree {
                TokenTree::Ident(i) => {
                    if let Some(var) = self.lookup(&i.to_string()) {
                        names.push(Some(var));
                    }
                }
                TokenTree::Group(g) => self.macro_names(g.stream(), names),
                _ => {}
            }
        }
    }
}

fn is_reference(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Paren(p) => is_reference(&p.expr),
        syn::Expr::Reference(_) => true,
        _ => false,
    }
}

fn block_diverges(stmts: &[syn::Stmt]) -> bool {
    matches!(
        stmts.last(),
        Some(syn::Stmt::Expr(
            syn::Expr::Return(_) | syn::Expr::Break(_) | syn::Expr::Continue(_),
            _
        ))
    )
}

/// Collects what each single-name path resolves to, and reports the
/// constructs that are never allowed.
struct Names<'l, 'e> {
    lowerer: &'l mut Lowerer<'e>,
    names: Vec<Option<VarId>>,
    macro_reads: Vec<VarId>,
}

impl<'ast> Visit<'ast> for Names<'_, '_> {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none()
            && let Some(ident) = p.path.get_ident()
        {
            self.names.push(self.lowerer.lookup(&ident.to_string()));
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Names inside a macro cannot be substituted: recorded apart, as reads.
        let mut names = Vec::new();
        self.lowerer.macro_names(m.tokens.clone(), &mut names);
        self.macro_reads.extend(names.into_iter().flatten());
    }
    fn visit_expr_unsafe(&mut self, u: &'ast syn::ExprUnsafe) {
        self.lowerer.errors.spanned(
            u.unsafe_token,
            "`unsafe` blocks are not supported in a differentiable function",
        );
    }
    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        self.lowerer.errors.spanned(
            a.async_token,
            "`async` blocks are not supported in a differentiable function",
        );
    }
    fn visit_expr_await(&mut self, a: &'ast syn::ExprAwait) {
        self.lowerer
            .errors
            .spanned(a.await_token, "`.await` is not supported in a differentiable function");
    }
    fn visit_expr_try(&mut self, t: &'ast syn::ExprTry) {
        self.lowerer.errors.spanned(
            t.question_token,
            "the `?` operator is not supported: modules return values, not `Result`s",
        );
    }
    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        // A closure's parameters shadow outer names inside it.
        self.lowerer.scopes.push(HashMap::new());
        for input in &c.inputs {
            self.lowerer.bind_pattern(input);
        }
        self.visit_expr(&c.body);
        self.lowerer.scopes.pop();
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

// What each kind of code kept as written means when it reads an active value.
const REJECT_METHOD: &str = "method calls on an active value are not supported (they would not be differentiated): use a module, like `sum(&h)` instead of `h.sum()`; shape queries such as `h.shape()` and `h.nrows()` are allowed";
const REJECT_INDEX: &str =
    "indexing an active value is not supported (it would not be differentiated): use a module that selects values";
const REJECT_CAST: &str = "casting an active value with `as` is not supported (it would not be differentiated): write constants in the parameters' float type";
const REJECT_MACRO: &str = "a macro that reads an active value is not supported: the macro cannot see inside it, so it would not be differentiated";
const REJECT_CLOSURE: &str = "a closure that reads an active value is not supported: define a module function, or a `#[differentiable]` function, and call it";
const REJECT_MUTATION: &str =
    "an active value cannot be changed in place: compute a new value with a module and assign it, `h = relu(&h);`";
const REJECT_MUT_REF: &str =
    "`&mut` of an active value is not supported: modules read their inputs and return new values";
const REJECT_OPERATOR: &str =
    "this operator is not supported on an active value: differentiable operators are `+`, `-`, `*`, `/` and unary `-`";
const REJECT_DEREF: &str =
    "dereference (`*x`) of an active value is not supported: pass references to modules as they are";
const REJECT_FIELD: &str = "field access is supported on a parameter only, as in `model.w1`";
const REJECT_CALLEE: &str = "only calls of a named function (a module such as `relu`) can take an active value";
const REJECT_ITERATE: &str = "a loop over an active value's elements is not supported: loop over indices or constant data, and use modules on the active value";
const REJECT_LIST_INDEX: &str = "indexing a parameter's list of layers is not supported (it would not be differentiated): visit the layers with a loop, `for layer in &model.layers { ... layer.w ... }`";
const REJECT_PATTERN: &str = "this pattern cannot bind an active value: bind a name (`let h = ...`) or split a module's outputs (`let (a, b) = duplicate(&x);`)";
const REJECT_STATEMENT: &str =
    "a statement without `let` has no effect on the result: bind it with `let`, or make it the final expression";
const REJECT_OTHER: &str =
    "this expression is not supported on an active value: use module calls, `+ - * /`, literals and references";

/// `a..b` and its kin, in parentheses or not.
fn is_range(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Range(_) => true,
        syn::Expr::Paren(p) => is_range(&p.expr),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IR of `func` and the lowering's errors (the signature's are not asked for).
    fn lowered(func: syn::ItemFn) -> (Function, Vec<String>) {
        let sig = crate::signature::signature(&func, None, &mut Errors::default()).expect("signature");
        let mut errors = Errors::default();
        let f = lower(&sig, &mut errors);
        let messages = match errors.finish() {
            Ok(()) => vec![],
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (f, messages)
    }

    #[test]
    fn lowers_loops_branches_and_reassignment_into_regions() {
        let func: syn::ItemFn = syn::parse_quote! {
            fn f(xs: &[Array2<f64>], u: &Array2<f64>) -> f64 {
                let mut h = matmul(&xs[0], u);
                for t in 1..xs.len() {
                    if t % 2 == 0 {
                        continue;
                    }
                    h = tanh(&(h + matmul(&xs[t], u)));
                }
                sum(&h)
            }
        };
        let (f, errors) = lowered(func);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(f.verify(), Ok(()));
        let expected = "\
%3 = matmul(&`xs [0]`, %1)  // h
loop#0 for t in 1 .. xs . len () {
    if#0 t % 2 == 0 {
        Continue @2 ends [loop#0]
    } else {
    }
    %3 = tanh(&add(&%3, &matmul(&`xs [t]`, %1)))  // h
}
%2 = sum(&%3)  // the result
result %2
";
        assert_eq!(f.to_string(), expected);
    }

    #[test]
    fn reports_every_mistake_at_once() {
        let func: syn::ItemFn = syn::parse_quote! {
            fn f(x: &Array1<f64>) -> f64 {
                let y = unsafe { 1.0 };
                let z = loop { break 2.0; };
                if let Some(a) = x.first() {}
                let w = relu(&if true { x } else { x });
                x?
            }
        };
        let (_, errors) = lowered(func);
        assert_eq!(errors.len(), 5, "{errors:#?}");
    }

    #[test]
    fn verify_rejects_an_exit_of_a_loop_that_does_not_enclose_it() {
        let func: syn::ItemFn = syn::parse_quote! {
            fn f(x: f64) -> f64 {
                for i in 0..3 {
                    if i == 1 { break; }
                }
                x
            }
        };
        let (mut f, _) = lowered(func);
        let exit = Stmt::Exit(Exit {
            kind: ExitKind::Break,
            site: 99,
            ends: vec![0],
            tokens: TokenStream::new(),
        });
        f.body.stmts.insert(0, exit);
        assert!(f.verify().unwrap_err().contains("does not enclose"));
    }
}
