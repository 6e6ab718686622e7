//! The function's forward graph and its gradient graph (the reversed graph)
//! in Graphviz DOT, for `NAME_GRAPHS`.
//!
//! Forward: inputs (boxes) and module calls (ellipses), an edge per value a
//! call reads, labelled with the user's name for it; a variable assigned more
//! than once (in a loop or a branch) is a node of its own, where its
//! assignments meet. Gradient: one node per VJP call, and one per gradient
//! (`∂h`): an edge from the gradient of a call's output to its VJP, and from
//! the VJP to the gradient of each argument that needs one. A gradient with
//! several incoming edges is a sum (fan-out). Constants have no gradient, and
//! the calls the result does not depend on through a differentiated
//! parameter have no VJP: the graph shows what activity analysis kept.

use std::collections::BTreeMap;
use std::fmt::Write;

use quote::ToTokens;

use crate::ir::{Function, VarId, VarKind};
use crate::plan::{FieldPath, Plan, Storage, Target};
use crate::program::{Node, Operand, Program, Step, Value};

/// `(forward, gradient)` as DOT text.
pub fn dot(f: &Function, program: &Program, plan: &Plan, wrt: &[bool]) -> (String, String) {
    let mut steps = Vec::new();
    collect(&program.nodes, "", &mut steps);
    let mut g = Graphs {
        f,
        plan,
        forward: Dot::new("forward"),
        gradient: Dot::new("gradient"),
        producer: BTreeMap::new(),
        inputs: BTreeMap::new(),
        merges: BTreeMap::new(),
        grads: BTreeMap::new(),
        module_of: BTreeMap::new(),
    };
    for (step, region) in &steps {
        g.forward_step(step, region);
    }
    let out = g.read(f.ret);
    let result = g.forward.node("C", "doublecircle", "");
    g.forward.edge(&out.0, &result, &out.1);

    let seed = g.gradient.node("∂C/∂C = 1", "plaintext", "");
    let ret = g.gradient.node(&format!("∂{}", g.name(f.ret)), "ellipse", "");
    g.gradient.edge(&seed, &ret, "");
    g.grads.insert(Target::Value(f.ret), ret);
    for (step, region) in steps.iter().rev() {
        g.backward_step(step, region, wrt);
    }
    (g.forward.finish(), g.gradient.finish())
}

/// Every step in program order, with the loops and branches around it.
fn collect<'p>(nodes: &'p [Node], region: &str, out: &mut Vec<(&'p Step, String)>) {
    for node in nodes {
        match node {
            Node::Step(step) => out.push((step, region.to_string())),
            Node::If { arms, .. } => {
                for (k, arm) in arms.iter().enumerate() {
                    collect(
                        arm,
                        &format!("{region}[{} arm]", if k == 0 { "if" } else { "else" }),
                        out,
                    );
                }
            }
            Node::Match { arms, .. } => {
                for (k, (_, arm)) in arms.iter().enumerate() {
                    collect(arm, &format!("{region}[match arm {k}]"), out);
                }
            }
            Node::Loop { body, .. } => collect(body, &format!("{region}[loop]"), out),
            Node::Verbatim(_) | Node::Substituted { .. } | Node::Print { .. } | Node::Exit { .. } => {}
        }
    }
}

/// A graph being written: nodes `n0`, `n1`, ... with labels.
struct Dot {
    text: String,
    nodes: usize,
}

impl Dot {
    fn new(name: &str) -> Dot {
        Dot {
            text: format!("digraph {name} {{\n    node [fontname=\"sans-serif\"];\n"),
            nodes: 0,
        }
    }

    fn node(&mut self, label: &str, shape: &str, region: &str) -> String {
        let id = format!("n{}", self.nodes);
        self.nodes += 1;
        let label = if region.is_empty() {
            label.to_string()
        } else {
            format!("{label}\\n{region}")
        };
        let _ = writeln!(self.text, "    {id} [label=\"{}\", shape={shape}];", escape(&label));
        id
    }

    fn edge(&mut self, from: &str, to: &str, label: &str) {
        if label.is_empty() {
            let _ = writeln!(self.text, "    {from} -> {to};");
        } else {
            let _ = writeln!(self.text, "    {from} -> {to} [label=\"{}\"];", escape(label));
        }
    }

    fn finish(mut self) -> String {
        self.text.push_str("}\n");
        self.text
    }
}

/// Quotes for a DOT string; `\n` stays a line break.
fn escape(s: &str) -> String {
    s.replace('"', "\\\"")
}

struct Graphs<'a> {
    f: &'a Function,
    plan: &'a Plan,
    forward: Dot,
    gradient: Dot,
    /// The forward node that produced each single-assignment variable.
    producer: BTreeMap<VarId, String>,
    /// Input nodes by label (parameters, fields, constants).
    inputs: BTreeMap<String, String>,
    /// The node of each variable assigned more than once.
    merges: BTreeMap<VarId, String>,
    /// Gradient nodes.
    grads: BTreeMap<Target, String>,
    /// The module that computed each variable, to name temporaries.
    module_of: BTreeMap<VarId, String>,
}

impl Graphs<'_> {
    /// The user's name of a variable, or the module that computed it.
    fn name(&self, var: VarId) -> String {
        match self.f.vars.get(var) {
            Some(v) if matches!(v.kind, VarKind::Param(_) | VarKind::Local | VarKind::Layer { .. }) => v.name.clone(),
            // The function's result is the cost, C.
            _ if var == self.f.ret => "C".into(),
            _ => self
                .module_of
                .get(&var)
                .map_or_else(|| "C".into(), |m| format!("{m}(…)")),
        }
    }

    fn user_name(&self, var: VarId) -> String {
        match self.f.vars.get(var) {
            Some(v) if matches!(v.kind, VarKind::Local | VarKind::Layer { .. }) => v.name.clone(),
            _ => String::new(),
        }
    }

    fn input(&mut self, label: &str) -> String {
        if let Some(id) = self.inputs.get(label) {
            return id.clone();
        }
        let id = self.forward.node(label, "box", "");
        self.inputs.insert(label.to_string(), id.clone());
        id
    }

    /// Assigned by more than one statement (a loop-carried or branch-merged
    /// value); a temporary inside a loop is assigned by one.
    fn assigned_more_than_once(&self, var: VarId) -> bool {
        self.f.vars.get(var).is_some_and(|v| v.assigns > 1)
            || matches!(self.plan.storage.get(var), Some(Storage::Result))
    }

    /// The node a read of `var` comes from, and the edge's label.
    fn read(&mut self, var: VarId) -> (String, String) {
        if let Some(Storage::Item(tuple, k)) = self.plan.storage.get(var).copied() {
            let (node, _) = self.read(tuple);
            let name = self.user_name(var);
            return (node, if name.is_empty() { format!(".{k}") } else { name });
        }
        if let Some(node) = self.merges.get(&var) {
            return (node.clone(), String::new());
        }
        if let Some(node) = self.producer.get(&var) {
            return (node.clone(), self.user_name(var));
        }
        let label = self.name(var);
        (self.input(&label), String::new())
    }

    fn read_operand(&mut self, op: &Operand) -> (String, String) {
        match op {
            Operand::Var { var, .. } => self.read(*var),
            Operand::Field { param, path, .. } => {
                let path: Vec<String> = path.iter().map(|p| p.to_string()).collect();
                let label = format!("{}.{}", self.name(*param), path.join("."));
                (self.input(&label), String::new())
            }
            Operand::Const { tokens, .. } => {
                let text = tokens
                    .to_token_stream()
                    .to_string()
                    .replace(" . ", ".")
                    .replace("& ", "&");
                let short: String = text.chars().take(24).collect();
                (self.input(&short), String::new())
            }
        }
    }

    /// Where a step's value goes: its own node, or the node of a variable
    /// assigned more than once.
    fn define(&mut self, var: VarId, node: String, label: &str) {
        if self.assigned_more_than_once(var) {
            let merge = match self.merges.get(&var) {
                Some(m) => m.clone(),
                None => {
                    let m = self.forward.node(&self.name(var), "plaintext", "");
                    self.merges.insert(var, m.clone());
                    m
                }
            };
            self.forward.edge(&node, &merge, label);
        } else {
            self.producer.insert(var, node);
        }
    }

    fn forward_step(&mut self, step: &Step, region: &str) {
        match &step.value {
            Value::Call { callee, args, .. } => {
                let module = callee.module_name();
                self.module_of.insert(step.var, module.clone());
                let reads: Vec<(String, String)> = args.iter().map(|a| self.read_operand(a)).collect();
                let node = self.forward.node(&module, "ellipse", region);
                for (from, label) in reads {
                    self.forward.edge(&from, &node, &label);
                }
                self.define(step.var, node, "");
            }
            Value::Copy(op) => {
                let (from, _) = self.read_operand(op);
                if self.assigned_more_than_once(step.var) {
                    self.define(step.var, from, "");
                } else {
                    self.producer.insert(step.var, from);
                }
            }
            Value::Const(tokens) => {
                let text: String = tokens.to_string().chars().take(24).collect();
                let node = self.input(&text);
                self.define(step.var, node, "");
            }
        }
    }

    /// The gradient an operand's VJP result adds to (the plan's target) and
    /// its label.
    fn target_of(&self, op: &Operand) -> Option<(Target, String)> {
        let target = self.plan.target_of(op)?;
        let label = match (op, &target) {
            (Operand::Var { var, .. }, Target::Item(tuple, k)) => {
                let name = self.user_name(*var);
                if name.is_empty() {
                    format!("∂{}.{k}", self.name(*tuple))
                } else {
                    format!("∂{name}")
                }
            }
            (Operand::Field { param, path, .. }, _) => {
                format!("∂{}.{}", self.name(*param), FieldPath(path.clone()))
            }
            (Operand::Var { var, .. }, _) => format!("∂{}", self.name(*var)),
            (Operand::Const { .. }, _) => return None,
        };
        Some((target, label))
    }

    fn grad(&mut self, key: Target, label: &str, wrt: &[bool]) -> String {
        if let Some(node) = self.grads.get(&key) {
            return node.clone();
        }
        // The gradients returned to the caller are boxes (a layer's, added
        // into its model's, is drawn as the layer's own).
        let returned = match &key {
            Target::Value(v) | Target::Field(v, _) => {
                matches!(self.f.vars.get(*v).map(|v| v.kind), Some(VarKind::Param(i)) if wrt.get(i).copied().unwrap_or(false))
            }
            Target::Item(..) | Target::Indexed { .. } => false,
        };
        let node = self.gradient.node(label, if returned { "box" } else { "ellipse" }, "");
        self.grads.insert(key, node.clone());
        node
    }

    fn backward_step(&mut self, step: &Step, region: &str, wrt: &[bool]) {
        if !step.reversed {
            return;
        }
        let own = Target::Value(step.var);
        // The gradients of a split call's outputs are gathered first.
        let items: Vec<(Target, String)> = self
            .grads
            .iter()
            .filter(|(k, _)| matches!(k, Target::Item(t, _) if *t == step.var))
            .map(|(k, n)| (k.clone(), n.clone()))
            .collect();
        if !items.is_empty() {
            let label = format!("∂{}", self.name(step.var));
            let whole = self.grad(own.clone(), &label, wrt);
            for (_, node) in items {
                self.gradient.edge(&node, &whole, "");
            }
        }
        let Some(upstream) = self.grads.get(&own).cloned() else {
            return;
        };
        match &step.value {
            Value::Call { callee, args, .. } => {
                let vjp = self
                    .gradient
                    .node(&format!("{} VJP", callee.module_name()), "ellipse", region);
                self.gradient.edge(&upstream, &vjp, "");
                for (arg, need) in args.iter().zip(&step.need) {
                    if need.is_never() {
                        continue;
                    }
                    if let Some((key, label)) = self.target_of(arg) {
                        let node = self.grad(key, &label, wrt);
                        self.gradient.edge(&vjp, &node, "");
                    }
                }
            }
            Value::Copy(arg) => {
                if let Some((key, label)) = self.target_of(arg) {
                    let node = self.grad(key, &label, wrt);
                    self.gradient.edge(&upstream, &node, "");
                }
            }
            Value::Const(_) => {}
        }
    }
}
