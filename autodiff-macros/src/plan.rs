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
//!
//! The plan also holds what the printer needs to know about gradients: the
//! [`Target`] each VJP result is added to (the gradient graph uses the same),
//! the loop variables that stand for a model's layers, and whether gradients
//! are declared up front.
//!
//! Glossary:
//! - *storage*: where a variable's value lives ([`Storage`]).
//! - *slot*: the `Option` that holds a value assigned in a region or more than
//!   once; a slot is *saved* when the backward pass reads its old values.
//! - *target*: a gradient that contributions are added to ([`Target`]).
//! - *recycle*: give a value's buffer back to the workspace after its last use.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use proc_macro2::TokenStream;
use syn::Ident;

use crate::ir::{Function, LoopId, LoopKind, VarId, VarKind, match_reads};
use crate::program::{Node, Operand, Program, Value, visit_steps, walk};

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

/// A path of fields inside a parameter struct (`encoder.w` in
/// `model.encoder.w`); empty for the struct itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Ident>);

impl FieldPath {
    pub fn members(&self) -> &[Ident] {
        &self.0
    }

    pub fn joined(&self, separator: &str) -> String {
        self.0.iter().map(Ident::to_string).collect::<Vec<_>>().join(separator)
    }

    /// Whether `self` lies strictly inside the non-empty `other` (`a.b` in `a`).
    pub fn lies_in(&self, other: &FieldPath) -> bool {
        !other.0.is_empty() && self.0.len() > other.0.len() && self.0.starts_with(&other.0)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.joined("."))
    }
}

/// A gradient that VJP results are added to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// The gradient of a variable's current value.
    Value(VarId),
    /// Of output `k` of a tuple variable.
    Item(VarId, usize),
    /// Of a field of a parameter struct.
    Field(VarId, FieldPath),
    /// Of `rest` in the element at `at` of the list `param.list`
    /// (`model.layers[i].w`): accumulated in place into the parameter's
    /// whole gradient.
    Indexed {
        param: VarId,
        at: Position,
        list: FieldPath,
        rest: FieldPath,
    },
}

/// Which element of a list a gradient goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Position {
    /// The one loop `LoopId` over the list visits in this iteration.
    Loop(LoopId),
    /// The one a constant index (`model.layers[i]`), hoisted, names.
    Hoist(usize),
}

/// The loop variable of `for layer in &model.layers`.
pub struct LayerVar {
    /// As the user named it.
    pub ident: Ident,
    pub loop_id: LoopId,
    /// The model parameter and the list field the loop visits.
    pub model: VarId,
    pub list: FieldPath,
}

pub struct Plan {
    pub storage: Vec<Storage>,
    /// The loop variables of loops over layers.
    pub layers: HashMap<VarId, LayerVar>,
    /// Gradients are declared before the backward pass (`let mut __g = None`)
    /// and accumulated in place; a body without regions, exits or reassigned
    /// values binds each with `let` at its first contribution instead.
    pub upfront: bool,
    /// The variables that steps assign into an `Option` (slots and the
    /// result), declared before the forward pass.
    pub slots: BTreeSet<VarId>,
    /// Every gradient the backward pass computes: the result's (the seed)
    /// and every one a VJP result adds to; none when the result does not
    /// depend on a differentiated parameter.
    pub gradients: BTreeSet<Target>,
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
    let mut layers = HashMap::new();
    walk(&program.nodes, &mut |node| {
        if let Node::Loop {
            id,
            head:
                LoopKind::Layers {
                    param,
                    path,
                    item,
                    ident,
                    ..
                },
            ..
        } = node
        {
            let list = FieldPath(path.clone());
            layers.insert(
                *item,
                LayerVar {
                    ident: ident.clone(),
                    loop_id: *id,
                    model: *param,
                    list,
                },
            );
        }
    });
    let mut slots = BTreeSet::new();
    visit_steps(&program.nodes, &mut |s| {
        if matches!(storage[s.var], Storage::Slot { .. } | Storage::Result) {
            slots.insert(s.var);
        }
    });
    // Reassigned values (slots) have one gradient variable for all their
    // values, taken at each assignment: declared up front like a region's.
    let regions = program
        .nodes
        .iter()
        .any(|n| !matches!(n, Node::Verbatim(_) | Node::Step(_)));
    // A list's elements are accumulated in place into the whole gradient,
    // which is declared up front.
    let mut elements = false;
    visit_steps(&program.nodes, &mut |s| {
        elements |= s
            .value
            .operands()
            .iter()
            .any(|a| matches!(a, Operand::Field { index: Some(_), .. }));
    });
    let upfront = regions || f.early_return || !slots.is_empty() || elements;
    let mut plan = Plan {
        storage,
        layers,
        upfront,
        slots,
        gradients: BTreeSet::new(),
    };
    if !program.need[f.ret].is_never() {
        plan.gradients.insert(Target::Value(f.ret));
        plan.gradients.extend(plan.contributions(&program.nodes));
    }
    plan
}

impl Plan {
    /// The gradient that an operand's VJP result is added to; none for a constant.
    pub fn target_of(&self, op: &Operand) -> Option<Target> {
        match op {
            Operand::Var { var, .. } => Some(match (self.storage[*var], self.layers.get(var)) {
                (Storage::Item(tuple, k), _) => Target::Item(tuple, k),
                (Storage::Layer, Some(layer)) => Target::Indexed {
                    param: layer.model,
                    at: Position::Loop(layer.loop_id),
                    list: layer.list.clone(),
                    rest: FieldPath::default(),
                },
                _ => Target::Value(*var),
            }),
            Operand::Field {
                param,
                path,
                index: Some((at, index)),
                ..
            } => {
                let Operand::Const { hoist: Some(h), .. } = &**index else {
                    return None;
                };
                Some(Target::Indexed {
                    param: *param,
                    at: Position::Hoist(h.id),
                    list: FieldPath(path[..*at].to_vec()),
                    rest: FieldPath(path[*at..].to_vec()),
                })
            }
            Operand::Field { param, path, .. } => {
                let path = FieldPath(path.clone());
                Some(match self.layers.get(param) {
                    Some(layer) => Target::Indexed {
                        param: layer.model,
                        at: Position::Loop(layer.loop_id),
                        list: layer.list.clone(),
                        rest: path,
                    },
                    None => Target::Field(*param, path),
                })
            }
            Operand::Const { .. } => None,
        }
    }

    /// Every gradient that the reversed steps of `nodes` add to.
    pub fn contributions(&self, nodes: &[Node]) -> BTreeSet<Target> {
        let mut out = BTreeSet::new();
        visit_steps(nodes, &mut |step| {
            if !step.reversed {
                return;
            }
            // A split call's items' gradients are gathered into its own.
            if let Value::Call { split: Some(_), .. } = step.value {
                out.insert(Target::Value(step.var));
            }
            for (i, a) in step.value.operands().iter().enumerate() {
                if step.need.get(i).is_some_and(|n| !n.is_never())
                    && let Some(t) = self.target_of(a)
                {
                    out.insert(t);
                }
            }
        });
        out
    }

    /// The plain locals (and tuples of items) that `nodes` read or define,
    /// for recycling each after its last use.
    pub fn locals_in(&self, nodes: &[Node]) -> Vec<VarId> {
        let mut vars = Vec::new();
        walk(nodes, &mut |node| match node {
            // A plain local read by substituted code lives until that code.
            Node::Substituted { code, .. } => code.reads(&mut vars),
            Node::Step(step) => {
                vars.push(step.var);
                vars.extend(step.value.operands().iter().filter_map(|a| match a {
                    Operand::Var { var, .. } => Some(*var),
                    _ => None,
                }));
            }
            Node::If { cond, .. } => vars.extend(cond.reads()),
            Node::Match { scrutinee, arms, .. } => vars.extend(match_reads(scrutinee, arms)),
            Node::Loop { head, .. } => {
                if let LoopKind::For { iter: c, .. } | LoopKind::While(c) = head {
                    vars.extend(c.reads());
                }
            }
            Node::Print { reads, .. } => vars.extend(reads),
            Node::Verbatim(_) | Node::Exit { .. } => {}
        });
        vars.into_iter()
            .map(|var| match self.storage[var] {
                Storage::Item(tuple, _) => tuple,
                _ => var,
            })
            .filter(|&var| self.storage[var] == Storage::Local)
            .collect()
    }
}

/// A top-level statement of the generated body, with the plain locals it
/// reads or defines.
pub struct Statement {
    pub code: TokenStream,
    pub locals: Vec<VarId>,
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
        for &var in &s.locals {
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
