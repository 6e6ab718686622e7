//! Activity analysis. A variable is *varied* when it depends on a
//! differentiated parameter, and *useful* when the result depends on it; only
//! what is both gets backward code, and a call's VJP is asked only for the
//! gradients of its varied arguments. Both are fixpoints over every
//! assignment, so a value carried around a loop (`h = tanh(&(... h ...))`)
//! or set in a branch is handled like straight-line code.
//!
//! Also reports code kept as written that reads a varied value where that
//! would silently stop the gradient (`h.sum()`, `h[0]`, `x as f32`, macros).

use std::collections::BTreeSet;

use crate::errors::Errors;
use crate::ir::{Block, Expr, Function, LoopKind, Opaque, Stmt, UseOfActive, VarId, VarKind};
use crate::signature::Signature;

/// Which differentiated parameters a value depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    Never,
    /// In `NAME_grad`: every differentiated parameter is wanted.
    Always,
    /// In `NAME_vjp`: wanted when any of these parameters' `need` flags is set.
    Params(BTreeSet<usize>),
}

impl Need {
    pub fn join(&self, other: &Need) -> Need {
        match (self, other) {
            (Need::Always, _) | (_, Need::Always) => Need::Always,
            (Need::Never, x) | (x, Need::Never) => x.clone(),
            (Need::Params(a), Need::Params(b)) => Need::Params(a.union(b).copied().collect()),
        }
    }

    pub fn is_never(&self) -> bool {
        *self == Need::Never
    }
}

pub struct Activity {
    /// Per variable, the parameters it depends on (as in `NAME_vjp`).
    pub need: Vec<Need>,
    pub useful: Vec<bool>,
}

impl Activity {
    pub fn varied(&self, var: VarId) -> bool {
        !self.need[var].is_never()
    }

    /// Varied and useful: it gets backward code.
    pub fn active(&self, var: VarId) -> bool {
        self.varied(var) && self.useful[var]
    }

    pub fn need_of(&self, expr: &Expr) -> Need {
        match expr {
            Expr::Call { args, .. } => args.iter().fold(Need::Never, |acc, a| acc.join(&self.need_of(a))),
            Expr::Ref(inner) => self.need_of(inner),
            Expr::Var(v, _) => self.need[*v].clone(),
            Expr::Field { base, .. } => self.need[*base].clone(),
            Expr::Opaque(_) => Need::Never,
        }
    }
}

pub fn analyse(f: &Function, sig: &Signature<'_>, errors: &mut Errors) -> Activity {
    let n = f.vars.len();
    let mut need = vec![Need::Never; n];
    for (id, var) in f.vars.iter().enumerate() {
        if let VarKind::Param(i) = var.kind
            && sig.params[i].wrt
        {
            need[id] = Need::Params(BTreeSet::from([i]));
        }
    }
    let mut activity = Activity {
        need,
        useful: vec![false; n],
    };
    // A layer of a parameter depends on what the parameter depends on.
    for (id, var) in f.vars.iter().enumerate() {
        if let VarKind::Layer { param, .. } = var.kind {
            activity.need[id] = activity.need[param].clone();
        }
    }
    let mut assigns = Vec::new();
    collect_assigns(&f.body, &mut assigns);
    // Forward: what depends on a differentiated parameter.
    loop {
        let mut changed = false;
        for &(var, value, items) in &assigns {
            let joined = activity.need[var].join(&activity.need_of(value));
            if joined != activity.need[var] {
                activity.need[var] = joined;
                changed = true;
            }
            for item in items.iter().flatten() {
                if activity.need[*item] != activity.need[var] {
                    activity.need[*item] = activity.need[var].clone();
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Backward: what the result depends on.
    activity.useful[f.ret] = true;
    loop {
        let mut changed = false;
        for &(var, value, items) in &assigns {
            if items.iter().flatten().any(|&i| activity.useful[i]) && !activity.useful[var] {
                activity.useful[var] = true;
                changed = true;
            }
            if !activity.useful[var] {
                continue;
            }
            let mut reads = Vec::new();
            differentiable_reads(value, &mut reads);
            for r in reads {
                let r = f.vars[r].item.map_or(r, |(tuple, _)| tuple);
                if !activity.useful[r] {
                    activity.useful[r] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // An item's usefulness follows its tuple's (the tuple's VJP needs all).
    for (id, var) in f.vars.iter().enumerate() {
        if let Some((tuple, _)) = var.item {
            activity.useful[id] = activity.useful[tuple];
        }
    }
    check(&f.body, &activity, f, errors);
    activity
}

fn collect_assigns<'a>(block: &'a Block, out: &mut Vec<(VarId, &'a Expr, &'a [Option<VarId>])>) {
    crate::ir::walk(block, &mut |stmt| {
        if let Stmt::Assign { var, value, items, .. } = stmt {
            out.push((*var, value, items));
        }
    });
}

/// Variables read through calls, references and fields: the ones a gradient
/// flows back to.
fn differentiable_reads(expr: &Expr, out: &mut Vec<VarId>) {
    match expr {
        Expr::Call { args, .. } => args.iter().for_each(|a| differentiable_reads(a, out)),
        Expr::Ref(inner) => differentiable_reads(inner, out),
        Expr::Var(v, _) => out.push(*v),
        Expr::Field { base, .. } => out.push(*base),
        Expr::Opaque(_) => {}
    }
}

/// Code kept as written may read a varied value only where that is harmless.
fn check(block: &Block, activity: &Activity, f: &Function, errors: &mut Errors) {
    let mut report = |code: &Opaque| {
        if let UseOfActive::Rejected(message) = code.use_of_active
            && let Some(var) = code.value_reads().find(|&v| activity.varied(v))
        {
            errors.spanned(
                &code.expr,
                format!(
                    "`{}` is active here (it depends on a differentiated parameter): {message}",
                    f.vars[var].name
                ),
            );
        }
    };
    crate::ir::walk(block, &mut |stmt| match stmt {
        Stmt::Const { code, .. } => report(code),
        Stmt::Assign { value, .. } => visit_opaque(value, &mut report),
        Stmt::Loop {
            kind: LoopKind::For { iter, .. },
            ..
        } => report(iter),
        Stmt::Loop {
            kind: LoopKind::Layers { adapters, .. },
            ..
        } => adapters.iter().filter_map(|a| a.arg.as_ref()).for_each(&mut report),
        _ => {}
    });
}

fn visit_opaque<'a>(expr: &'a Expr, f: &mut impl FnMut(&'a Opaque)) {
    match expr {
        Expr::Call { args, .. } => args.iter().for_each(|a| visit_opaque(a, f)),
        Expr::Ref(inner) => visit_opaque(inner, f),
        Expr::Opaque(o) => f(o),
        Expr::Var(..) | Expr::Field { .. } => {}
    }
}
