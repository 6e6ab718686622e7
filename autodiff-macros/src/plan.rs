//! The memory plan: where each value lives, and when it is given back.
//!
//! A value assigned once at the top of the body lives in a plain local and is
//! recycled right after its last use, forward or backward (so the peak memory
//! of the backward pass falls as it proceeds, as in hand-written backprop).
//! A value assigned in a loop or a branch, or more than once, lives in a
//! *slot*: when a new value overwrites one that the backward pass reads, the
//! old one is pushed on the slot's stack, and the backward pass pops it back
//! once it has used the new one, then recycles that. Each iteration thus
//! stores exactly the values its VJPs read, and nothing outlives its last use.

use std::collections::HashMap;

use proc_macro2::TokenStream;

use crate::ir::{Function, VarId, VarKind};
use crate::reverse::{Node, Program};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Param(usize),
    /// A plain `let`.
    Local,
    /// An `Option` slot; `saved` when the backward pass reads its old values.
    Slot {
        saved: bool,
    },
    /// The result, set once by a `return` or in a branch.
    Result,
    /// Output `.1` of a tuple variable.
    Item(VarId, usize),
    /// The loop variable of a loop over a model's layers.
    Layer,
    /// A constant of the user's: kept as written, under the user's own name.
    Constant,
}

pub struct Plan {
    pub storage: Vec<Storage>,
}

pub fn plan(f: &Function, program: &Program) -> Plan {
    let total = program.need.len();
    let mut storage = vec![Storage::Local; total];
    let mut reversed = vec![false; total];
    let mut step_depth = vec![0usize; total];
    let mut assigned = vec![0usize; total];
    visit_steps(&program.nodes, &mut |s| {
        reversed[s.var] |= s.reversed;
        step_depth[s.var] = step_depth[s.var].max(s.depth);
        assigned[s.var] += 1;
    });
    for (id, slot) in storage.iter_mut().enumerate() {
        *slot = match f.vars.get(id) {
            Some(var) => match (var.kind, var.item) {
                (VarKind::Param(i), _) => Storage::Param(i),
                (VarKind::Layer { .. }, _) => Storage::Layer,
                (VarKind::Local | VarKind::Temp, _) if program.need[id].is_never() => Storage::Constant,
                (_, Some((tuple, k))) => Storage::Item(tuple, k),
                (VarKind::Ret, _) if var.assigns == 1 && step_depth[id] == 0 && !f.early_return => Storage::Local,
                (VarKind::Ret, _) => Storage::Result,
                _ if var.assigns == 1 && var.depth == 0 && step_depth[id] == 0 && !f.early_return => Storage::Local,
                _ => Storage::Slot { saved: reversed[id] },
            },
            None if step_depth[id] == 0 && assigned[id] == 1 && !f.early_return => Storage::Local,
            None => Storage::Slot { saved: reversed[id] },
        };
    }
    Plan { storage }
}

/// Every step, in forward order.
pub fn visit_steps<'a>(nodes: &'a [Node], f: &mut impl FnMut(&'a crate::reverse::Step)) {
    for node in nodes {
        match node {
            Node::Step(s) => f(s),
            Node::If { arms, .. } => arms.iter().for_each(|a| visit_steps(a, f)),
            Node::Match { arms, .. } => arms.iter().for_each(|(_, a)| visit_steps(a, f)),
            Node::Loop { body, .. } => visit_steps(body, f),
            Node::Verbatim(_) | Node::Substituted { .. } | Node::Exit { .. } => {}
        }
    }
}

/// A top-level statement of the generated body, with the plain locals it
/// defines and reads.
pub struct Statement {
    pub code: TokenStream,
    pub defines: Vec<VarId>,
    pub reads: Vec<VarId>,
}

/// The forward statements, then the backward ones, each plain local recycled
/// right after its last use; `keep` is the returned result.
pub fn recycle_after_last_use(
    forward: Vec<Statement>,
    backward: Vec<Statement>,
    keep: Option<VarId>,
    recycle: impl Fn(VarId) -> TokenStream,
) -> Vec<TokenStream> {
    let statements: Vec<Statement> = forward.into_iter().chain(backward).collect();
    let mut last_use: HashMap<VarId, usize> = HashMap::new();
    for (i, s) in statements.iter().enumerate() {
        for &var in s.defines.iter().chain(&s.reads) {
            last_use.insert(var, i);
        }
    }
    let mut dead: Vec<Vec<VarId>> = vec![Vec::new(); statements.len()];
    for (&var, &at) in &last_use {
        if Some(var) != keep {
            dead[at].push(var);
        }
    }
    let mut out = Vec::with_capacity(statements.len() * 2);
    for (s, mut dead) in statements.into_iter().zip(dead) {
        out.push(s.code);
        dead.sort_unstable();
        out.extend(dead.into_iter().map(&recycle));
    }
    out
}

impl Plan {
    /// Checks the storage of every step's variable: a plain local is assigned
    /// by exactly one step, at the top of the body; parameters, layers and
    /// items are never assigned.
    pub fn verify(&self, program: &Program) -> Result<(), String> {
        let mut count = vec![0usize; self.storage.len()];
        let mut error = None;
        visit_steps(&program.nodes, &mut |s| {
            match self.storage.get(s.var) {
                None | Some(Storage::Param(_) | Storage::Item(..) | Storage::Layer | Storage::Constant) => {
                    error.get_or_insert(format!("step {} assigns %{}, which has no storage", s.id, s.var));
                }
                Some(Storage::Local) if s.depth > 0 => {
                    error.get_or_insert(format!("%{} is a plain local but assigned inside a region", s.var));
                }
                _ => {}
            }
            if let Some(c) = count.get_mut(s.var) {
                *c += 1;
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        for (var, storage) in self.storage.iter().enumerate() {
            if *storage == Storage::Local && count[var] > 1 {
                return Err(format!("%{var} is a plain local but assigned {} times", count[var]));
            }
        }
        Ok(())
    }
}
