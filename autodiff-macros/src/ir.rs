//! The function as the passes see it: variables resolved, expressions as
//! trees, and control flow as nested regions (a loop's body, a branch's arms).
//!
//! `lower` builds it from `syn` in one pass; `verify` checks its invariants
//! between passes; `activity` marks what depends on a differentiated
//! parameter; `reverse` turns it into the forward and backward programs.
//!
//! Glossary:
//! - *variable*: a binding site (each `let`, each shadowing is its own), a
//!   parameter, a temporary of a nested call, or the result.
//! - *active*: depends on a differentiated parameter; *constant* otherwise
//!   (every `Const` and `Constant` of the passes means this: code, values,
//!   operands and storage that are not active).
//! - *need*: when a value's gradient is wanted: never, always, or when one
//!   of some parameters' gradients is asked for; `NAME_vjp`'s `need` flags
//!   are the run-time form of the last.
//! - *opaque*: code kept as the user wrote it, with the names in it resolved.
//! - *region*: a loop's body or a branch's arm.
//! - *exit*: `break`, `continue` or `return`; its *site* numbers where an
//!   iteration or the function ended.
//! - *negation site*: a unary `-` of the function, which a generic original
//!   negates through the runtime.

use std::fmt;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::Ident;

pub type VarId = usize;
pub type LoopId = usize;
pub type BranchId = usize;
/// Where an iteration or the function ends: a `break`, `continue` or
/// `return`, or falling off the end of a loop's body ([`FALL_THROUGH`]).
pub type SiteId = u32;

/// The site of an iteration that ran to the end of its loop's body. Site 0
/// marks a loop's start in its record; exits are numbered from 2.
pub const FALL_THROUGH: SiteId = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarKind {
    /// The function's parameter with this index.
    Param(usize),
    /// A `let` binding of the user's (each binding site is its own variable).
    Local,
    /// A value the passes introduce: a nested call's result.
    Temp,
    /// The function's result when it is set by `return` inside the body.
    Ret,
    /// The loop variable of `for layer in &model.layers`: a reference to
    /// one element of a parameter's `Vec` field, per iteration.
    Layer { param: VarId, loop_id: LoopId },
}

pub struct Var {
    /// The user's name, or a description, for errors and `Display`.
    pub name: String,
    /// The identifier the user wrote (raw or not), for a variable the user
    /// named; generated code that names it uses this.
    pub ident: Option<Ident>,
    pub kind: VarKind,
    /// The type the user wrote on the binding.
    pub ty: Option<syn::Type>,
    /// How many regions (loop bodies, branch arms) enclose the declaration.
    pub depth: usize,
    /// How many statements assign it (its `let` included).
    pub assigns: usize,
    /// Output `.1` of a tuple-valued variable, for `let (a, b) = duplicate(&x)`.
    pub item: Option<(VarId, usize)>,
    /// Declared `let mut`: it may be assigned again.
    pub mutable: bool,
    /// `let layer = &net.layers[i];`: another name for this element of a
    /// model's list, which uses of the name stand for.
    pub place: Option<syn::Expr>,
}

/// An expression that is not differentiated (a condition, an index, a
/// literal...), kept as the user wrote it. `names` holds what each
/// single-name path in it resolved to, in `syn::visit` order, so that the
/// emitter can substitute the locals that hold active values.
#[derive(Clone)]
pub struct Opaque {
    pub expr: syn::Expr,
    pub names: Vec<Option<VarId>>,
    /// Variables named inside macros (read, but never substituted).
    pub macro_reads: Vec<VarId>,
    /// The positions in `names` read only for a shape (`h.nrows()`), which
    /// is constant even when the value is active.
    pub queried: Vec<usize>,
    /// What reading an active value here means: allowed, or an error message.
    pub use_of_active: UseOfActive,
    /// The variable it is a place of (`x`, `x.f`, `x[i]`), if it is one.
    pub place_of: Option<VarId>,
}

impl Var {
    /// The user's identifier, located at `span`.
    pub fn ident_at(&self, span: Span) -> Ident {
        let mut ident = self.ident.clone().unwrap_or_else(|| Ident::new("_", span));
        ident.set_span(span);
        ident
    }
}

impl Opaque {
    pub fn reads(&self) -> impl Iterator<Item = VarId> + '_ {
        self.names.iter().flatten().chain(&self.macro_reads).copied()
    }

    /// The reads of values, as opposed to shapes.
    pub fn value_reads(&self) -> impl Iterator<Item = VarId> + '_ {
        let names = self.names.iter().enumerate();
        let names = names.filter(|(i, _)| !self.queried.contains(i)).filter_map(|(_, v)| *v);
        names.chain(self.macro_reads.iter().copied())
    }
}

/// A `match` arm's pattern, as written, and its guard, whose names are
/// substituted as a condition's are.
#[derive(Clone)]
pub struct ArmHead {
    pub pat: TokenStream,
    pub guard: Option<Opaque>,
}

impl ArmHead {
    pub fn reads(&self) -> impl Iterator<Item = VarId> + '_ {
        self.guard.iter().flat_map(Opaque::reads)
    }
}

/// What a `match` reads to choose its arm: the scrutinee and the guards.
pub fn match_reads<'a, B>(scrutinee: &'a Opaque, arms: &'a [(ArmHead, B)]) -> impl Iterator<Item = VarId> + 'a {
    scrutinee.reads().chain(arms.iter().flat_map(|(head, _)| head.reads()))
}

/// Whether code kept as written may read an active value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UseOfActive {
    /// Conditions, comparisons, shape queries: read, never differentiated.
    Allowed,
    /// Anything else: an error with this message.
    Rejected(&'static str),
    /// A printing macro or an assertion as a statement (`println!`,
    /// `assert!`): it reads values in the forward pass of `NAME_grad` only.
    Printed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Neg,
}

impl Op {
    pub fn module_name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Div => "div",
            Op::Neg => "neg",
        }
    }
}

#[derive(Clone)]
pub enum Callee {
    Module(syn::Path),
    Op(Op),
    /// A differentiable method of a model; the receiver is argument 0.
    Method {
        method: Ident,
        turbofish: Option<TokenStream>,
    },
}

impl Callee {
    /// The module's name for messages and graphs: `linear`, `add` for `+`,
    /// a method's name.
    pub fn module_name(&self) -> String {
        match self {
            Callee::Module(path) => path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
            Callee::Op(op) => op.module_name().to_string(),
            Callee::Method { method, .. } => method.to_string(),
        }
    }
}

#[derive(Clone)]
pub enum Expr {
    /// A module or operator call; `tokens` as written, for when it is constant.
    Call {
        callee: Callee,
        args: Vec<Expr>,
        span: Span,
        tokens: TokenStream,
    },
    /// `&e`.
    Ref(Box<Expr>),
    /// A variable.
    Var(VarId, Span),
    /// A field of a parameter struct: `model.w1`, `net.first.w`; with an
    /// `index`, of one element of a list field: `net.layers[i].w` (the index
    /// applies after `path[..at]`).
    Field {
        base: VarId,
        path: Vec<Ident>,
        index: Option<ElementIndex>,
        span: Span,
    },
    /// Code kept as written.
    Opaque(Opaque),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Call { span, .. } | Expr::Var(_, span) | Expr::Field { span, .. } => *span,
            Expr::Ref(inner) => inner.span(),
            Expr::Opaque(o) => syn::spanned::Spanned::span(&o.expr),
        }
    }

    /// Every variable the expression reads, through any node.
    pub fn reads(&self, out: &mut Vec<VarId>) {
        match self {
            Expr::Call { args, .. } => args.iter().for_each(|a| a.reads(out)),
            Expr::Ref(inner) => inner.reads(out),
            Expr::Var(v, _) => out.push(*v),
            Expr::Field { base, index, .. } => {
                out.push(*base);
                out.extend(index.iter().flat_map(|i| i.expr.reads()));
            }
            Expr::Opaque(o) => out.extend(o.reads()),
        }
    }
}

pub struct Block {
    pub stmts: Vec<Stmt>,
}

pub enum Stmt {
    /// Code that computes no active value, kept as written (`let n = xs.len();`,
    /// `k = k * 0.9;`, `assert!(...)`).
    Const { code: Opaque, tokens: TokenStream },
    /// `var = value` (a `let`, an assignment, `+=`, a branch's or the body's
    /// result). `items` are the names of a split tuple. `written` is the
    /// statement as the user wrote it, kept when it turns out constant.
    Assign {
        var: VarId,
        value: Expr,
        items: Vec<Option<VarId>>,
        written: Option<Written>,
        span: Span,
    },
    /// `if` (an `else if` is an `else` arm holding an `If`): arm 0 is taken
    /// when `cond` holds.
    If {
        id: BranchId,
        cond: Opaque,
        arms: [Block; 2],
        tokens: TokenStream,
        /// The variable a `let y = if ...` declares (its arms assign it).
        declares: Option<VarId>,
    },
    Match {
        id: BranchId,
        scrutinee: Opaque,
        arms: Vec<(ArmHead, Block)>,
        tokens: TokenStream,
        declares: Option<VarId>,
    },
    Loop {
        id: LoopId,
        kind: LoopKind,
        label: Option<syn::Lifetime>,
        body: Block,
        tokens: TokenStream,
    },
    /// `break`, `continue` or `return` (whose value is assigned just before).
    Exit(Exit),
    /// `let a = h;` or `let a = &h;` of a value never reassigned: `a` names
    /// the same variable. Kept as written when that is a constant.
    Alias { of: VarId, tokens: TokenStream },
}

/// A statement as the user wrote it.
#[derive(Clone)]
pub struct Written {
    pub tokens: TokenStream,
    /// It is a `let` (it declares its variable), not an assignment.
    pub declares: bool,
}

#[derive(Clone)]
pub enum LoopKind {
    For {
        pat: syn::Pat,
        iter: Opaque,
    },
    /// `for layer in &model.layers` (or `model.layers.iter()`): `item` is
    /// the loop variable, an element of the parameter field `param.path`.
    Layers {
        param: VarId,
        path: Vec<Ident>,
        item: VarId,
        ident: Ident,
        /// `.enumerate()` and `.zip(data)` after `.iter()`, innermost first,
        /// and the pattern as written when there are any (`(i, layer)`).
        adapters: Vec<Adapter>,
        pat: Option<syn::Pat>,
    },
    While(Opaque),
    Loop,
}

/// The position of an element of a model's list field: `i` of
/// `net.layers[i]`, `0` of `.first().unwrap()`, constant code.
#[derive(Clone)]
pub struct ElementIndex {
    /// How many fields of the path come before the index.
    pub at: usize,
    pub expr: Opaque,
}

/// An iterator adapter on a model's layers that keeps each layer at its
/// position: `.enumerate()`, or `.zip(data)` with constant data.
#[derive(Clone)]
pub struct Adapter {
    pub method: Ident,
    pub arg: Option<Opaque>,
}

pub struct Exit {
    pub kind: ExitKind,
    pub site: SiteId,
    /// The loops whose current iteration this ends, innermost first.
    pub ends: Vec<LoopId>,
    pub tokens: TokenStream,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExitKind {
    Break,
    Continue,
    Return,
}

pub struct Function {
    pub vars: Vec<Var>,
    pub body: Block,
    /// The variable holding the result.
    pub ret: VarId,
    /// A `return` other than the last statement: the forward pass runs in a
    /// labelled block that `return` leaves.
    pub early_return: bool,
    pub loops: usize,
    pub branches: usize,
    /// Each unary `-` of the body with its operand: in a generic function,
    /// the original negates active values through the runtime (ndarray's
    /// `-&a` needs `&F: Neg`, which `F: Float` cannot promise).
    pub negations: Vec<(NegationSite, Expr)>,
}

/// A unary `-` of the function: the how-manieth `syn::visit` meets, so that
/// a visit of the function as written finds it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NegationSite(pub usize);

impl Function {
    /// A parameter, or part of one: the same value wherever it is read.
    pub fn is_param_like(&self, var: VarId) -> bool {
        matches!(self.vars[var].kind, VarKind::Param(_) | VarKind::Layer { .. })
    }
}

/// Visits every statement, outer before inner.
pub fn walk<'a>(block: &'a Block, f: &mut impl FnMut(&'a Stmt)) {
    for stmt in &block.stmts {
        f(stmt);
        for inner in children(stmt) {
            walk(inner, f);
        }
    }
}

/// The blocks nested directly in a statement.
pub fn children(stmt: &Stmt) -> Vec<&Block> {
    match stmt {
        Stmt::If { arms, .. } => arms.iter().collect(),
        Stmt::Match { arms, .. } => arms.iter().map(|(_, b)| b).collect(),
        Stmt::Loop { body, .. } => vec![body],
        _ => vec![],
    }
}

impl Function {
    /// Checks the invariants the later passes rely on: every variable read is
    /// declared, in scope and assigned by some statement; exits end loops that
    /// enclose them; loop, branch and site numbers are unique.
    pub fn verify(&self) -> Result<(), String> {
        let mut loops = vec![false; self.loops];
        let mut branches = vec![false; self.branches];
        let mut sites = std::collections::HashSet::new();
        let mut assigned = vec![false; self.vars.len()];
        for (id, var) in self.vars.iter().enumerate() {
            if matches!(var.kind, VarKind::Param(_) | VarKind::Layer { .. }) {
                assigned[id] = true;
            }
            if let Some((tuple, _)) = var.item
                && tuple >= self.vars.len()
            {
                return Err(format!("{} is an item of an unknown variable", var.name));
            }
        }
        let mut error = None;
        walk(&self.body, &mut |stmt| {
            let fail = |e: &mut Option<String>, m: String| {
                e.get_or_insert(m);
            };
            match stmt {
                Stmt::Assign { var, items, .. } => {
                    if *var >= self.vars.len() {
                        fail(&mut error, format!("assignment to unknown variable %{var}"));
                    } else {
                        assigned[*var] = true;
                    }
                    for item in items.iter().flatten() {
                        if self.vars.get(*item).and_then(|v| v.item).map(|(t, _)| t) != Some(*var) {
                            fail(&mut error, format!("%{item} is not an item of %{var}"));
                        }
                    }
                }
                Stmt::If { id, .. } | Stmt::Match { id, .. } => {
                    if branches.get(*id).copied() != Some(false) {
                        fail(&mut error, format!("branch {id} is repeated or out of range"));
                    } else {
                        branches[*id] = true;
                    }
                }
                Stmt::Loop { id, .. } => {
                    if loops.get(*id).copied() != Some(false) {
                        fail(&mut error, format!("loop {id} is repeated or out of range"));
                    } else {
                        loops[*id] = true;
                    }
                }
                Stmt::Exit(exit) => {
                    if exit.site <= FALL_THROUGH || !sites.insert(exit.site) {
                        fail(&mut error, format!("exit site {} is reserved or repeated", exit.site));
                    }
                    if exit.kind != ExitKind::Return && exit.ends.is_empty() {
                        fail(&mut error, format!("exit site {} ends no loop", exit.site));
                    }
                }
                Stmt::Const { .. } | Stmt::Alias { .. } => {}
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        // Reads of variables that nothing assigns, and exits whose loops do
        // not enclose them.
        self.check_reads(&self.body, &assigned, &mut Vec::new())?;
        if self.ret >= self.vars.len() || !assigned[self.ret] {
            return Err("the result is never assigned".into());
        }
        Ok(())
    }

    fn check_reads(&self, block: &Block, assigned: &[bool], enclosing: &mut Vec<LoopId>) -> Result<(), String> {
        for stmt in &block.stmts {
            let mut reads = Vec::new();
            match stmt {
                Stmt::Assign { value, .. } => value.reads(&mut reads),
                Stmt::Const { code, .. } => reads.extend(code.reads()),
                Stmt::If { cond, .. } => reads.extend(cond.reads()),
                Stmt::Match { scrutinee, arms, .. } => reads.extend(match_reads(scrutinee, arms)),
                Stmt::Loop {
                    kind: LoopKind::For { iter: c, .. } | LoopKind::While(c),
                    ..
                } => reads.extend(c.reads()),
                Stmt::Loop {
                    kind: LoopKind::Layers { adapters, .. },
                    ..
                } => reads.extend(adapters.iter().filter_map(|a| a.arg.as_ref()).flat_map(Opaque::reads)),
                Stmt::Loop { .. } => {}
                Stmt::Alias { of, .. } => reads.push(*of),
                Stmt::Exit(exit) => {
                    for l in &exit.ends {
                        if !enclosing.contains(l) {
                            return Err(format!(
                                "exit site {} ends loop {l}, which does not enclose it",
                                exit.site
                            ));
                        }
                    }
                }
            }
            for r in reads {
                // Parameters and layers are always defined; a constant bound
                // by a pattern (`for t in`, a `match` arm) is never assigned.
                let var = self.vars.get(r).ok_or_else(|| format!("%{r} is not a variable"))?;
                let defined = match var.item {
                    Some((tuple, _)) => assigned[tuple],
                    None => assigned[r] || !matches!(var.kind, VarKind::Local | VarKind::Temp) || var.assigns == 0,
                };
                if !defined {
                    return Err(format!("%{r} is read but never assigned"));
                }
            }
            if let Stmt::Loop { id, body, .. } = stmt {
                enclosing.push(*id);
                self.check_reads(body, assigned, enclosing)?;
                enclosing.pop();
            } else {
                for inner in children(stmt) {
                    self.check_reads(inner, assigned, enclosing)?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Function {
    /// One line per statement, indented by region, like `%4 = relu(&%3)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_block(f, &self.body, 0)?;
        writeln!(f, "result %{}", self.ret)
    }
}

impl Function {
    fn fmt_block(&self, f: &mut fmt::Formatter<'_>, block: &Block, indent: usize) -> fmt::Result {
        let pad = "    ".repeat(indent);
        for stmt in &block.stmts {
            match stmt {
                Stmt::Const { tokens, .. } => writeln!(f, "{pad}const {}", compact(tokens))?,
                Stmt::Alias { of, tokens } => writeln!(f, "{pad}alias of %{of}: {}", compact(tokens))?,
                Stmt::Assign { var, value, items, .. } => {
                    let items: Vec<String> = items
                        .iter()
                        .map(|i| i.map_or("_".into(), |i| format!("%{i}")))
                        .collect();
                    let split = if items.is_empty() {
                        String::new()
                    } else {
                        format!(" -> ({})", items.join(", "))
                    };
                    writeln!(
                        f,
                        "{pad}%{var} = {}{split}  // {}",
                        self.fmt_expr(value),
                        self.vars[*var].name
                    )?
                }
                Stmt::If { id, cond, arms, .. } => {
                    writeln!(f, "{pad}if#{id} {} {{", compact(&cond.expr.to_token_stream()))?;
                    self.fmt_block(f, &arms[0], indent + 1)?;
                    writeln!(f, "{pad}}} else {{")?;
                    self.fmt_block(f, &arms[1], indent + 1)?;
                    writeln!(f, "{pad}}}")?;
                }
                Stmt::Match {
                    id, scrutinee, arms, ..
                } => {
                    writeln!(f, "{pad}match#{id} {} {{", compact(&scrutinee.expr.to_token_stream()))?;
                    for (head, body) in arms {
                        let guard = head
                            .guard
                            .as_ref()
                            .map(|g| format!(" if {}", compact(&g.expr.to_token_stream())));
                        writeln!(f, "{pad}  {}{} => {{", compact(&head.pat), guard.unwrap_or_default())?;
                        self.fmt_block(f, body, indent + 1)?;
                        writeln!(f, "{pad}  }}")?;
                    }
                    writeln!(f, "{pad}}}")?;
                }
                Stmt::Loop { id, kind, body, .. } => {
                    let head = match kind {
                        LoopKind::For { pat, iter } => format!(
                            "for {} in {}",
                            compact(&pat.to_token_stream()),
                            compact(&iter.expr.to_token_stream())
                        ),
                        LoopKind::While(c) => format!("while {}", compact(&c.expr.to_token_stream())),
                        LoopKind::Layers { param, path, item, .. } => {
                            let path: Vec<String> = path.iter().map(|p| p.to_string()).collect();
                            format!("for %{item} in layers of %{param}.{}", path.join("."))
                        }
                        LoopKind::Loop => "loop".into(),
                    };
                    writeln!(f, "{pad}loop#{id} {head} {{")?;
                    self.fmt_block(f, body, indent + 1)?;
                    writeln!(f, "{pad}}}")?;
                }
                Stmt::Exit(exit) => {
                    let ends: Vec<String> = exit.ends.iter().map(|l| format!("loop#{l}")).collect();
                    writeln!(f, "{pad}{:?} @{} ends [{}]", exit.kind, exit.site, ends.join(", "))?;
                }
            }
        }
        Ok(())
    }

    fn fmt_expr(&self, expr: &Expr) -> String {
        match expr {
            Expr::Call { callee, args, .. } => {
                let name = match callee {
                    Callee::Module(path) => compact(&path.to_token_stream()),
                    Callee::Op(op) => op.module_name().into(),
                    Callee::Method { method, .. } => format!("method {method}"),
                };
                let args: Vec<String> = args.iter().map(|a| self.fmt_expr(a)).collect();
                format!("{name}({})", args.join(", "))
            }
            Expr::Ref(inner) => format!("&{}", self.fmt_expr(inner)),
            Expr::Var(v, _) => format!("%{v}"),
            Expr::Field { base, path, .. } => {
                let path: Vec<String> = path.iter().map(|p| p.to_string()).collect();
                format!("%{base}.{}", path.join("."))
            }
            Expr::Opaque(o) => format!("`{}`", compact(&o.expr.to_token_stream())),
        }
    }
}

fn compact(tokens: &TokenStream) -> String {
    tokens.to_string()
}
