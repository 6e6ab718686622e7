//! Where `NAME_grad` tells a gradient hook (the runtime's `hooks` module)
//! that a gradient is final: decided from the reversed program and its plan,
//! before anything is printed.

use std::collections::BTreeMap;

use crate::ir::{Function, LoopId, LoopKind, VarId, VarKind};
use crate::plan::{FieldPath, Plan, Target};
use crate::program::{Node, Program, walk};
use crate::signature::Signature;

/// Per top-level statement, the parameters, model fields and layer lists
/// whose last contribution that statement makes; per loop over a model's
/// layers, the list whose layers are final one by one, as the loop's
/// backward half finishes each.
#[derive(Default)]
pub struct Hooks {
    pub ready: BTreeMap<usize, Vec<(Final, VarId, FieldPath)>>,
    pub per_layer: BTreeMap<LoopId, (VarId, FieldPath)>,
    /// Whether to give the hook a chance to progress after each statement.
    pub progress: bool,
}

/// What becomes final.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Final {
    /// A parameter's whole gradient.
    Whole,
    /// A field (path) of a model parameter.
    Field,
    /// A list field of a model, accumulated in place by a loop over it.
    List,
}

/// Whether `nodes` can leave their loop early or visit `list` again.
fn exits_or_revisits(nodes: &[Node], list: (VarId, &FieldPath)) -> bool {
    let mut found = false;
    walk(nodes, &mut |node| {
        found |= match node {
            Node::Exit { .. } => true,
            Node::Loop {
                head: LoopKind::Layers { param, path, .. },
                ..
            } => *param == list.0 && *path == list.1.0,
            _ => false,
        }
    });
    found
}

/// The hook events of `NAME_grad`'s backward pass. A gradient is reported when no other gradient is
/// added to it later: a parameter's whole gradient when it has no field
/// gradients, a field's when its parameter gets no whole gradient and no
/// other field or list of it contains it or lies in it. A list visited by a
/// top-level loop that neither leaves early nor visits it again is reported
/// layer by layer.
pub fn hooks(f: &Function, sig: &Signature<'_>, program: &Program, plan: &Plan) -> Hooks {
    let targets = &plan.gradients;
    let mut first = BTreeMap::new();
    for (m, node) in program.nodes.iter().enumerate() {
        for t in plan.contributions(std::slice::from_ref(node)) {
            let key = match t {
                Target::Value(param) if f.vars.get(param).is_some_and(|v| matches!(v.kind, VarKind::Param(_))) => {
                    (Final::Whole, param, FieldPath::default())
                }
                Target::Field(param, path) => (Final::Field, param, path),
                Target::Indexed { param, list, .. } => (Final::List, param, list),
                _ => continue,
            };
            first.entry(key).or_insert(m);
        }
    }
    let differentiated = |p: VarId| {
        f.vars
            .get(p)
            .is_some_and(|v| matches!(v.kind, VarKind::Param(i) if sig.params.get(i).is_some_and(|p| p.wrt)))
    };
    let related = |(kind_a, a): (Final, &FieldPath), (kind_b, b): (Final, &FieldPath)| {
        (a == b && kind_a != kind_b) || a.lies_in(b) || b.lies_in(a)
    };
    let mut hooks = Hooks {
        progress: true,
        ..Hooks::default()
    };
    for ((kind, param, path), &m) in &first {
        let alone = match kind {
            Final::Whole => !first.keys().any(|(k, p, _)| p == param && *k != Final::Whole),
            _ => {
                !targets.contains(&Target::Value(*param))
                    && !first
                        .keys()
                        .any(|(k, p, other)| p == param && related((*kind, path), (*k, other)))
            }
        };
        if !differentiated(*param) || !alone {
            continue;
        }
        if let (
            Final::List,
            Node::Loop {
                id,
                head:
                    LoopKind::Layers {
                        param: list_param,
                        path: list_path,
                        ..
                    },
                body,
                ..
            },
        ) = (kind, &program.nodes[m])
            && list_param == param
            && *list_path == path.0
            && !exits_or_revisits(body, (*param, path))
        {
            hooks.per_layer.insert(*id, (*param, path.clone()));
            continue;
        }
        hooks.ready.entry(m).or_default().push((*kind, *param, path.clone()));
    }
    hooks
}
