//! The reversed program that `reverse` builds and `plan`, `emit` and `graph`
//! read: the body flattened into steps (one module call each), constant code
//! kept as written, and regions (branches, loops) with whether the backward
//! pass needs a record of them.
//!
//! Glossary:
//! - *step*: one module or operator call assigning a variable; its backward
//!   half is the call's VJP.
//! - *operand*: what a step reads (a variable, a parameter's field, a constant).
//! - *hoist*: a constant operand that reads a local, evaluated once before its
//!   step into a hidden local, so the backward pass reads the same value.
//! - *recorded*: a region whose backward half must know what the forward pass
//!   did (which arm, how many iterations, where each ended).
//! - *site*: where an iteration or the function ended (see [`crate::ir::SiteId`]).

use proc_macro2::{Span, TokenStream};
use syn::Ident;

use crate::activity::Need;
use crate::ir::{ArmHead, BranchId, Callee, ExitKind, Function, LoopId, LoopKind, Opaque, SiteId, VarId};

/// What a step reads: a variable, a field of a parameter, or a constant.
pub enum Operand {
    /// A varied variable (or a split output of one).
    Var { var: VarId, by_ref: bool, span: Span },
    /// A field of a varied parameter struct; with an `index`, of one
    /// element of a list field (the index, a constant, applies after
    /// `path[..at]`).
    Field {
        param: VarId,
        path: Vec<Ident>,
        index: Option<(usize, Box<Operand>)>,
        by_ref: bool,
        span: Span,
    },
    /// A constant. `hoist` is set when it reads a local: it is evaluated once
    /// into a hidden local (and stored per use inside loops and branches), so
    /// the backward pass reads the value the forward pass used.
    Const {
        tokens: TokenStream,
        by_ref: bool,
        hoist: Option<Hoist>,
        span: Span,
    },
}

pub struct Hoist {
    pub id: usize,
    /// The value stored: a reference into a parameter, or an owned value
    /// (a clone when the constant is a local's place).
    pub value: TokenStream,
    /// The stored value is itself the reference the module takes.
    pub is_reference: bool,
}

pub enum Value {
    Call {
        callee: Callee,
        args: Vec<Operand>,
        /// The number of outputs, when the variable is a tuple split into items.
        split: Option<usize>,
    },
    /// `y = x` of a varied value.
    Copy(Operand),
    /// A constant assigned to a varied variable (`let mut s = 0.0;`).
    Const(TokenStream),
}

pub struct Step {
    /// Unique per step, for the names of its VJP's results.
    pub id: usize,
    pub var: VarId,
    pub value: Value,
    pub span: Span,
    /// Whether each argument's gradient is wanted (a `Call`'s), by parameter.
    pub need: Vec<Need>,
    /// The variable is varied and useful: the step has a backward half.
    pub reversed: bool,
    /// How many regions enclose it.
    pub depth: usize,
}

pub enum Node {
    /// Constant code, as written.
    Verbatim(TokenStream),
    /// Constant code that reads active values (`let n = h.nrows();`):
    /// `prefix`, then `code` with each such read going to where the value
    /// lives.
    Substituted {
        prefix: TokenStream,
        code: Kept,
    },
    Step(Step),
    /// A printing macro or an assertion, as written, in the forward pass of
    /// `NAME_grad` only (`NAME_vjp` recomputes a forward pass that another
    /// function's already ran); `reads` are the active values it reads,
    /// which it sees under their own names.
    Print {
        reads: Vec<VarId>,
        tokens: TokenStream,
    },
    If {
        id: BranchId,
        cond: Opaque,
        arms: [Vec<Node>; 2],
        recorded: bool,
    },
    Match {
        id: BranchId,
        scrutinee: Opaque,
        arms: Vec<(ArmHead, Vec<Node>)>,
        recorded: bool,
    },
    Loop {
        id: LoopId,
        head: LoopKind,
        label: Option<syn::Lifetime>,
        body: Vec<Node>,
        recorded: bool,
    },
    Exit {
        kind: ExitKind,
        site: SiteId,
        /// The recorded loops whose iteration it ends (each records the site).
        records: Vec<LoopId>,
        /// The loops it ends, innermost first.
        ends: Vec<LoopId>,
        tokens: TokenStream,
    },
}

/// Constant code whose reads of active values the printer substitutes: the
/// constant value of an assignment, rebuilt from the IR.
pub enum Kept {
    /// Tokens as the user wrote them (they read no active value).
    Tokens(TokenStream),
    /// A read of an active variable.
    Read(VarId),
    /// Code kept as written, with the names `lower` resolved in it.
    Opaque(Box<Opaque>),
    /// One after the other.
    Seq(Vec<Kept>),
    /// In parentheses, separated by commas: `(a, b)`.
    Parens(Vec<Kept>),
}

impl Kept {
    /// The variables it reads.
    pub fn reads(&self, out: &mut Vec<VarId>) {
        match self {
            Kept::Tokens(_) => {}
            Kept::Read(v) => out.push(*v),
            Kept::Opaque(o) => out.extend(o.reads()),
            Kept::Seq(parts) | Kept::Parens(parts) => parts.iter().for_each(|p| p.reads(out)),
        }
    }
}

pub struct Program {
    pub nodes: Vec<Node>,
    /// Per variable, the IR's and then the temporaries added for nested
    /// calls: the parameters it depends on.
    pub need: Vec<Need>,
}

impl Operand {
    /// Where the user wrote it.
    pub fn span(&self) -> Span {
        match self {
            Operand::Var { span, .. } | Operand::Field { span, .. } | Operand::Const { span, .. } => *span,
        }
    }
}

impl Value {
    /// What the value reads, in argument order.
    pub fn operands(&self) -> &[Operand] {
        match self {
            Value::Call { args, .. } => args,
            Value::Copy(a) => std::slice::from_ref(a),
            Value::Const(_) => &[],
        }
    }
}

impl Step {
    /// The constants hoisted before this step, in argument order.
    pub fn hoists(&self) -> impl Iterator<Item = &Hoist> {
        self.value.operands().iter().filter_map(|a| match a {
            Operand::Const { hoist: Some(h), .. } => Some(h),
            Operand::Field {
                index: Some((_, i)), ..
            } => match &**i {
                Operand::Const { hoist: Some(h), .. } => Some(h),
                _ => None,
            },
            _ => None,
        })
    }
}

impl Node {
    /// The node lists directly inside this one: an `if`'s two arms, a
    /// `match`'s arm bodies, a loop's body.
    pub fn regions(&self) -> Vec<&[Node]> {
        match self {
            Node::If { arms, .. } => arms.iter().map(Vec::as_slice).collect(),
            Node::Match { arms, .. } => arms.iter().map(|(_, a)| a.as_slice()).collect(),
            Node::Loop { body, .. } => vec![body],
            Node::Verbatim(_) | Node::Substituted { .. } | Node::Print { .. } | Node::Step(_) | Node::Exit { .. } => {
                vec![]
            }
        }
    }

    /// [`regions`](Self::regions), mutably.
    pub fn regions_mut(&mut self) -> Vec<&mut Vec<Node>> {
        match self {
            Node::If { arms, .. } => arms.iter_mut().collect(),
            Node::Match { arms, .. } => arms.iter_mut().map(|(_, a)| a).collect(),
            Node::Loop { body, .. } => vec![body],
            Node::Verbatim(_) | Node::Substituted { .. } | Node::Print { .. } | Node::Step(_) | Node::Exit { .. } => {
                vec![]
            }
        }
    }
}

/// Visits every node, in forward order, a region's node before the nodes
/// inside it.
pub fn walk<'a>(nodes: &'a [Node], f: &mut impl FnMut(&'a Node)) {
    for node in nodes {
        f(node);
        for region in node.regions() {
            walk(region, f);
        }
    }
}

/// [`walk`], mutably.
pub fn walk_mut(nodes: &mut [Node], f: &mut impl FnMut(&mut Node)) {
    for node in nodes {
        f(node);
        for region in node.regions_mut() {
            walk_mut(region, f);
        }
    }
}

/// Every step, in forward order.
pub fn visit_steps<'a>(nodes: &'a [Node], f: &mut impl FnMut(&'a Step)) {
    walk(nodes, &mut |node| {
        if let Node::Step(s) = node {
            f(s)
        }
    });
}

/// The nodes must be emitted as such, not as the user wrote them: a step, or
/// an exit that records where an iteration or the function ended.
pub fn structural(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Verbatim(_) => false,
        Node::Print { reads, .. } => !reads.is_empty(),
        Node::Substituted { .. } => true,
        Node::Step(_) | Node::Exit { .. } => true,
        Node::If { .. } | Node::Match { .. } | Node::Loop { .. } => true,
    })
}

/// The nodes have a backward half.
pub fn reversed(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Step(s) => s.reversed,
        Node::If { recorded, .. } | Node::Match { recorded, .. } | Node::Loop { recorded, .. } => *recorded,
        Node::Verbatim(_) | Node::Substituted { .. } | Node::Print { .. } | Node::Exit { .. } => false,
    })
}

/// The exits among `nodes` (at any depth) that end `scope`'s iteration (a
/// loop's), or the function (`None`).
pub fn exit_sites(nodes: &[Node], scope: Option<LoopId>) -> Vec<SiteId> {
    let mut out = Vec::new();
    walk(nodes, &mut |node| {
        if let Node::Exit { kind, site, ends, .. } = node {
            let ends_scope = match scope {
                Some(l) => ends.contains(&l),
                None => *kind == ExitKind::Return,
            };
            if ends_scope {
                out.push(*site);
            }
        }
    });
    out
}

impl Program {
    /// The loops that keep a record of their iterations.
    pub fn recorded_loops(&self) -> Vec<LoopId> {
        recorded_loops(&self.nodes)
    }

    /// The same program with no backward half: no step reversed, no region
    /// recorded, so that its plan saves nothing for a backward pass and a
    /// value is recycled as soon as the forward pass is done with it.
    pub fn forward_only(mut self) -> Program {
        walk_mut(&mut self.nodes, &mut |node| match node {
            Node::Step(step) => step.reversed = false,
            Node::If { recorded, .. } | Node::Match { recorded, .. } | Node::Loop { recorded, .. } => {
                *recorded = false;
            }
            Node::Exit { records, .. } => records.clear(),
            _ => {}
        });
        self
    }
}

pub fn recorded_loops(nodes: &[Node]) -> Vec<LoopId> {
    let mut out = Vec::new();
    walk(nodes, &mut |node| {
        if let Node::Loop { id, recorded: true, .. } = node {
            out.push(*id);
        }
    });
    out
}

impl Program {
    /// Checks what `plan` and `emit` rely on: every step assigns a variable
    /// that can be assigned and reads only what is defined; a region is
    /// recorded exactly when it has a backward half; exits record only into
    /// recorded loops that they end.
    pub fn verify(&self, f: &Function) -> Result<(), String> {
        let mut assigned = vec![false; self.need.len()];
        visit_steps(&self.nodes, &mut |s| {
            if let Some(slot) = assigned.get_mut(s.var) {
                *slot = true;
            }
        });
        let defined = |var: VarId| {
            assigned.get(var).copied().unwrap_or(false)
                || f.vars.get(var).is_some_and(|v| {
                    f.is_param_like(var) || v.item.is_some_and(|(tuple, _)| assigned.get(tuple) == Some(&true))
                })
        };
        let mut error = None;
        visit_steps(&self.nodes, &mut |s| {
            if s.var >= self.need.len() || f.vars.get(s.var).is_some_and(|_| f.is_param_like(s.var)) {
                error.get_or_insert(format!("step {} assigns %{}, which cannot be assigned", s.id, s.var));
            }
            let args = s.value.operands();
            if let Value::Call { args, .. } = &s.value
                && args.len() != s.need.len()
            {
                error.get_or_insert(format!(
                    "step {} has {} arguments but {} needs",
                    s.id,
                    args.len(),
                    s.need.len()
                ));
            }
            for a in args {
                if let Operand::Var { var, .. } | Operand::Field { param: var, .. } = a
                    && !defined(*var)
                {
                    error.get_or_insert(format!("step {} reads %{var}, which nothing defines", s.id));
                }
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        check_regions(&self.nodes, &self.recorded_loops())
    }
}

fn check_regions(nodes: &[Node], recorded_loops: &[LoopId]) -> Result<(), String> {
    let mut error = None;
    walk(nodes, &mut |node| {
        let problem = match node {
            Node::If { id, recorded, .. } | Node::Match { id, recorded, .. }
                if *recorded != node.regions().iter().any(|a| reversed(a)) =>
            {
                Some(format!(
                    "branch {id} is recorded without a backward half, or the reverse"
                ))
            }
            Node::Loop { id, body, recorded, .. } if *recorded != reversed(body) => {
                Some(format!("loop {id} is recorded without a backward half, or the reverse"))
            }
            Node::Exit {
                site, records, ends, ..
            } => records
                .iter()
                .find(|l| !ends.contains(l) || !recorded_loops.contains(l))
                .map(|l| format!("exit {site} records into loop {l}, which it does not end or which keeps no record")),
            _ => None,
        };
        if let Some(problem) = problem {
            error.get_or_insert(problem);
        }
    });
    error.map_or(Ok(()), Err)
}
