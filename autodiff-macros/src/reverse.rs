//! Reverses the graph: activity analysis, then the adjoint program.
//!
//! A value is *varied* when it depends on a differentiated parameter, and
//! *useful* when the output depends on it; it is *active* when both hold. Only
//! active calls get a backward step, and a call's VJP is asked only for the
//! gradients of its varied arguments: in `linear(x, w, b)` with data `x`, no
//! ∂C/∂x is ever computed. Constant calls get no backward code at all.
//!
//! The backward pass visits the calls in reverse order (the gradient graph is
//! the forward graph reversed). As in Zygote's `grad_ir`, the first
//! contribution to a value's gradient initialises it and later ones (fan-out)
//! are added to it.

use std::collections::{BTreeSet, HashSet};

use syn::Ident;

use crate::graph::{Graph, NodeId, NodeKind};
use crate::parse::Signature;

/// Which function the adjoint is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `NAME_grad`: the `wrt` parameters, known at compile time.
    Grad,
    /// `NAME_vjp`: the same parameters, each gated by a run-time flag `need[i]`,
    /// since the caller decides which gradients it wants.
    Vjp,
}

/// Whether a value's gradient is wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    Never,
    Always,
    /// When any of these parameters' run-time `need` flags is set.
    Params(BTreeSet<usize>),
}

impl Need {
    fn join(&self, other: &Need) -> Need {
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

/// Where a gradient contribution is added.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// The gradient of a node's whole value.
    Value(NodeId),
    /// The gradient of output `index` of a split call.
    Item(NodeId, usize),
    /// The gradient of a field (path) of a parameter struct, by its field node.
    Field(NodeId),
}

/// A contribution of a VJP result to a gradient.
pub struct Contribution {
    pub arg: usize,
    pub target: Target,
    /// The first contribution declares the gradient; later ones accumulate.
    pub first: bool,
}

pub enum Step {
    /// Bundles the gradients of a split call's outputs into one tuple (zeros
    /// for outputs that received none).
    Gather { call: NodeId, outputs: Vec<bool> },
    /// Calls the VJP of `call` and routes its results.
    Vjp {
        call: NodeId,
        need: Vec<Need>,
        contributions: Vec<Contribution>,
    },
}

/// A parameter's gradient at the end of the backward pass.
pub struct ParamGrad {
    pub param: usize,
    pub node: NodeId,
    /// The whole value received contributions.
    pub whole: bool,
    /// Fields of the parameter that received contributions: the field node
    /// and its path from the parameter.
    pub fields: Vec<(NodeId, Vec<Ident>)>,
}

pub struct Adjoint {
    pub mode: Mode,
    /// The output is varied: there is a backward pass at all.
    pub seeded: bool,
    pub steps: Vec<Step>,
    pub params: Vec<ParamGrad>,
}

pub fn target_of(graph: &Graph, node: NodeId) -> Target {
    match &graph.nodes[node].kind {
        NodeKind::Item { tuple, index } => Target::Item(*tuple, *index),
        NodeKind::Field { .. } => Target::Field(node),
        _ => Target::Value(node),
    }
}

pub fn reverse(graph: &Graph, sig: &Signature<'_>, mode: Mode) -> Result<Adjoint, String> {
    let n = graph.nodes.len();
    // Forward sweep: which parameters each value depends on.
    let mut need = vec![Need::Never; n];
    for id in 0..n {
        need[id] = match &graph.nodes[id].kind {
            NodeKind::Param(i) => {
                let p = &sig.params[*i];
                match mode {
                    Mode::Grad if p.wrt => Need::Always,
                    Mode::Vjp if p.wrt => Need::Params(BTreeSet::from([*i])),
                    _ => Need::Never,
                }
            }
            NodeKind::Const(_) => Need::Never,
            _ => graph
                .inputs(id)
                .iter()
                .fold(Need::Never, |acc, &input| acc.join(&need[input])),
        };
    }
    // Backward sweep: which values the output depends on.
    let mut useful = vec![false; n];
    useful[graph.output] = true;
    for id in (0..n).rev() {
        if useful[id] {
            for input in graph.inputs(id) {
                useful[input] = true;
            }
        }
    }
    let active = |id: NodeId| useful[id] && !need[id].is_never();

    let mut declared: HashSet<Target> = HashSet::new();
    let seeded = active(graph.output);
    if seeded {
        declared.insert(target_of(graph, graph.output));
    }
    let mut steps = Vec::new();
    for id in (0..n).rev() {
        let NodeKind::Call { args, outputs, .. } = &graph.nodes[id].kind else {
            continue;
        };
        if !active(id) {
            continue;
        }
        if let Some(k) = outputs
            && id != graph.output
        {
            let outputs: Vec<bool> = (0..*k).map(|i| declared.contains(&Target::Item(id, i))).collect();
            if !outputs.contains(&true) {
                return Err(format!(
                    "split call %{id} is active but none of its outputs has a gradient"
                ));
            }
            steps.push(Step::Gather { call: id, outputs });
            declared.insert(Target::Value(id));
        }
        if !declared.contains(&Target::Value(id)) {
            return Err(format!("call %{id} is active but its output has no gradient"));
        }
        let arg_need: Vec<Need> = args.iter().map(|a| need[a.node].clone()).collect();
        let contributions = args
            .iter()
            .enumerate()
            .filter(|(_, a)| !need[a.node].is_never())
            .map(|(i, a)| {
                let target = target_of(graph, a.node);
                let first = declared.insert(target.clone());
                Contribution { arg: i, target, first }
            })
            .collect();
        steps.push(Step::Vjp {
            call: id,
            need: arg_need,
            contributions,
        });
    }

    let mut params = Vec::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        if let NodeKind::Param(i) = node.kind {
            let fields = graph
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(field, other)| match &other.kind {
                    NodeKind::Field { base, path } if *base == id && declared.contains(&Target::Field(field)) => {
                        Some((field, path.clone()))
                    }
                    _ => None,
                })
                .collect();
            params.push(ParamGrad {
                param: i,
                node: id,
                whole: declared.contains(&Target::Value(id)),
                fields,
            });
        }
    }
    Ok(Adjoint {
        mode,
        seeded,
        steps,
        params,
    })
}
