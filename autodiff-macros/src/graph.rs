//! The body as an SSA dataflow graph. Every node is defined once, before its
//! uses, so node order is a topological order, and reversing it gives the
//! order of the backward pass. Names are resolved here: shadowing becomes new
//! nodes, a value used twice becomes a node with two uses (a fan-out).

use std::collections::HashMap;
use std::fmt;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Type};

use crate::parse::{Body, Pattern, Signature};

pub type NodeId = usize;

/// A built-in operator, lowered to the arithmetic module of the same name.
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

/// What is called: a module by the user's path, or an operator.
pub enum Callee {
    Module(syn::Path),
    Op(Op),
}

/// One argument of a call.
pub struct Arg {
    pub node: NodeId,
    /// Passed by reference (`&h`, or a name bound to a reference).
    pub by_ref: bool,
    /// The argument expression, for errors about this argument.
    pub span: Span,
}

pub enum NodeKind {
    /// The function's parameter with this index.
    Param(usize),
    /// A literal or an outside constant, such as `0.5` or `EPS`.
    Const(TokenStream),
    /// A module or operator call. `outputs` is `Some(k)` when the result is a
    /// k-tuple split by `let (a, b) = ...`.
    Call {
        callee: Callee,
        args: Vec<Arg>,
        outputs: Option<usize>,
    },
    /// Output `index` of a tuple-returning call.
    Item { tuple: NodeId, index: usize },
    /// A field of a parameter struct, such as `model.w1` or `net.first.w`:
    /// `base` is the parameter, `path` the members from it.
    Field { base: NodeId, path: Vec<Ident> },
}

pub struct Node {
    pub kind: NodeKind,
    /// The user's expression, for spans on emitted code.
    pub span: Span,
    /// A type the user wrote on the binding, kept on the emitted `let`.
    pub ty: Option<Type>,
    /// The user's name for the value, for `Display`.
    pub name: Option<String>,
}

pub struct Graph {
    pub nodes: Vec<Node>,
    pub output: NodeId,
}

/// How a name is bound while building.
#[derive(Clone, Copy)]
struct Bound {
    node: NodeId,
    is_ref: bool,
}

struct Builder<'s> {
    sig: &'s Signature<'s>,
    nodes: Vec<Node>,
    names: HashMap<String, Bound>,
    fields: HashMap<(NodeId, String), NodeId>,
}

/// Builds the graph of a checked body.
pub fn build(sig: &Signature<'_>, body: &Body<'_>) -> syn::Result<Graph> {
    let mut b = Builder {
        sig,
        nodes: Vec::new(),
        names: HashMap::new(),
        fields: HashMap::new(),
    };
    for (index, param) in sig.params.iter().enumerate() {
        let node = b.push(
            NodeKind::Param(index),
            param.ident.span(),
            Some(param.ident.to_string()),
        );
        b.names.insert(
            param.ident.to_string(),
            Bound {
                node,
                is_ref: param.is_ref,
            },
        );
    }
    for binding in &body.bindings {
        let value = b.lower(binding.init)?;
        match &binding.pattern {
            Pattern::Name(name) => {
                if let Some(ty) = binding.ty {
                    b.annotate(value.node, ty);
                }
                b.nodes[value.node].name.get_or_insert_with(|| name.to_string());
                b.names.insert(name.to_string(), value);
            }
            Pattern::Ignore => {}
            Pattern::Tuple(names, span) => {
                let tuple = value.node;
                let is_fresh_call =
                    matches!(&b.nodes[tuple].kind, NodeKind::Call { outputs: None, .. }) && tuple + 1 == b.nodes.len();
                if !is_fresh_call {
                    return Err(syn::Error::new(
                        *span,
                        "tuple destructuring needs a call of a module that returns a tuple, like `let (a, b) = duplicate(&x);`",
                    ));
                }
                if let NodeKind::Call { outputs, .. } = &mut b.nodes[tuple].kind {
                    *outputs = Some(names.len());
                }
                if let Some(ty) = binding.ty {
                    b.annotate(tuple, ty);
                }
                for (index, name) in names.iter().enumerate() {
                    if let Some(name) = name {
                        let item = b.push(NodeKind::Item { tuple, index }, name.span(), Some(name.to_string()));
                        b.names.insert(
                            name.to_string(),
                            Bound {
                                node: item,
                                is_ref: false,
                            },
                        );
                    }
                }
            }
        }
    }
    let output = b.lower(body.tail)?.node;
    Ok(Graph { nodes: b.nodes, output })
}

impl Builder<'_> {
    fn push(&mut self, kind: NodeKind, span: Span, name: Option<String>) -> NodeId {
        self.nodes.push(Node {
            kind,
            span,
            ty: None,
            name,
        });
        self.nodes.len() - 1
    }

    fn annotate(&mut self, node: NodeId, ty: &Type) {
        if matches!(self.nodes[node].kind, NodeKind::Call { .. }) {
            self.nodes[node].ty = Some(ty.clone());
        }
    }

    fn constant(&mut self, expr: &Expr) -> Bound {
        let node = self.push(NodeKind::Const(expr.to_token_stream()), expr.span(), None);
        Bound { node, is_ref: false }
    }

    /// True when the expression mentions no bound name: it is a constant as written.
    fn is_constant(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Lit(_) => true,
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_none_or(|i| !self.names.contains_key(&i.to_string())),
            Expr::Paren(p) => self.is_constant(&p.expr),
            Expr::Group(g) => self.is_constant(&g.expr),
            Expr::Unary(u) => self.is_constant(&u.expr),
            Expr::Binary(b) => self.is_constant(&b.left) && self.is_constant(&b.right),
            _ => false,
        }
    }

    fn lower(&mut self, expr: &Expr) -> syn::Result<Bound> {
        match expr {
            Expr::Paren(p) => self.lower(&p.expr),
            Expr::Group(g) => self.lower(&g.expr),
            Expr::Reference(r) => Ok(Bound {
                is_ref: true,
                ..self.lower(&r.expr)?
            }),
            Expr::Lit(_) => Ok(self.constant(expr)),
            Expr::Path(p) => match p.path.get_ident().and_then(|i| self.names.get(&i.to_string())) {
                Some(bound) => Ok(*bound),
                None => Ok(self.constant(expr)),
            },
            Expr::Call(call) => {
                let Expr::Path(func) = &*call.func else {
                    return Err(syn::Error::new_spanned(&call.func, "expected a function name"));
                };
                let mut args = Vec::new();
                for arg in &call.args {
                    let value = self.lower(arg)?;
                    args.push(Arg {
                        node: value.node,
                        by_ref: value.is_ref,
                        span: arg.span(),
                    });
                }
                let callee = Callee::Module(func.path.clone());
                let node = self.push(
                    NodeKind::Call {
                        callee,
                        args,
                        outputs: None,
                    },
                    expr.span(),
                    None,
                );
                Ok(Bound { node, is_ref: false })
            }
            // `2.0 * 0.5` or `-1.0`: folded into one constant, written as the user wrote it.
            Expr::Binary(_) | Expr::Unary(_) if self.is_constant(expr) => Ok(self.constant(expr)),
            Expr::Binary(binary) => {
                let op = match binary.op {
                    syn::BinOp::Add(_) => Op::Add,
                    syn::BinOp::Sub(_) => Op::Sub,
                    syn::BinOp::Mul(_) => Op::Mul,
                    syn::BinOp::Div(_) => Op::Div,
                    _ => return Err(syn::Error::new_spanned(binary.op, "unsupported operator")),
                };
                let left = self.lower(&binary.left)?;
                let right = self.lower(&binary.right)?;
                let args = vec![
                    Arg {
                        node: left.node,
                        by_ref: true,
                        span: binary.left.span(),
                    },
                    Arg {
                        node: right.node,
                        by_ref: true,
                        span: binary.right.span(),
                    },
                ];
                let node = self.push(
                    NodeKind::Call {
                        callee: Callee::Op(op),
                        args,
                        outputs: None,
                    },
                    expr.span(),
                    None,
                );
                Ok(Bound { node, is_ref: false })
            }
            Expr::Unary(unary) => {
                let operand = self.lower(&unary.expr)?;
                let args = vec![Arg {
                    node: operand.node,
                    by_ref: true,
                    span: unary.expr.span(),
                }];
                let node = self.push(
                    NodeKind::Call {
                        callee: Callee::Op(Op::Neg),
                        args,
                        outputs: None,
                    },
                    expr.span(),
                    None,
                );
                Ok(Bound { node, is_ref: false })
            }
            Expr::Field(field) => self.lower_field(field),
            other => Err(syn::Error::new_spanned(other, "unsupported expression")),
        }
    }

    /// `model.w1`, `net.first.w`: one node per (parameter, field path), so two
    /// reads of a field are a fan-out.
    fn lower_field(&mut self, field: &syn::ExprField) -> syn::Result<Bound> {
        let syn::Member::Named(member) = &field.member else {
            return Err(syn::Error::new_spanned(&field.member, "tuple fields are not supported"));
        };
        let base = self.lower(&field.base)?;
        let (param, mut path) = match &self.nodes[base.node].kind {
            NodeKind::Param(_) => (base.node, Vec::new()),
            NodeKind::Field { base, path } => (*base, path.clone()),
            _ => {
                return Err(syn::Error::new_spanned(
                    &field.base,
                    "field access is supported on a parameter only, as in `model.w1`",
                ));
            }
        };
        path.push(member.clone());
        let key = (param, path_string(&path));
        if let Some(&node) = self.fields.get(&key) {
            return Ok(Bound { node, is_ref: false });
        }
        let name = format!("{}.{}", self.sig.params[self.param_index(param)].ident, key.1);
        let node = self.push(NodeKind::Field { base: param, path }, field.span(), Some(name));
        self.fields.insert(key, node);
        Ok(Bound { node, is_ref: false })
    }

    fn param_index(&self, node: NodeId) -> usize {
        match self.nodes[node].kind {
            NodeKind::Param(i) => i,
            _ => 0,
        }
    }
}

/// `first.w` for the path [first, w].
pub fn path_string(path: &[Ident]) -> String {
    path.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(".")
}

impl Graph {
    /// The nodes a node reads.
    pub fn inputs(&self, node: NodeId) -> Vec<NodeId> {
        match &self.nodes[node].kind {
            NodeKind::Param(_) | NodeKind::Const(_) => vec![],
            NodeKind::Call { args, .. } => args.iter().map(|a| a.node).collect(),
            NodeKind::Item { tuple, .. } => vec![*tuple],
            NodeKind::Field { base, .. } => vec![*base],
        }
    }

    /// Checks the invariants later stages rely on: every input is defined
    /// before its use (so the graph is acyclic and in topological order), items
    /// refer to split calls, and the output exists.
    pub fn validate(&self) -> Result<(), String> {
        if self.output >= self.nodes.len() {
            return Err(format!("output %{} is not a node", self.output));
        }
        for (id, node) in self.nodes.iter().enumerate() {
            for input in self.inputs(id) {
                if input >= id {
                    return Err(format!("%{id} reads %{input}, which is not defined before it"));
                }
            }
            if let NodeKind::Item { tuple, index } = node.kind {
                match &self.nodes[tuple].kind {
                    NodeKind::Call { outputs: Some(k), .. } if index < *k => {}
                    _ => return Err(format!("%{id} is item {index} of %{tuple}, which is not a split call")),
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Graph {
    /// One line a node, like `%4 = relu(&%3)  // h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (id, node) in self.nodes.iter().enumerate() {
            let rhs = match &node.kind {
                NodeKind::Param(i) => format!("param {i}"),
                NodeKind::Const(tokens) => format!("const {tokens}"),
                NodeKind::Call { callee, args, outputs } => {
                    let name = match callee {
                        Callee::Module(path) => path.to_token_stream().to_string().replace(' ', ""),
                        Callee::Op(op) => op.module_name().to_string(),
                    };
                    let args: Vec<String> = args
                        .iter()
                        .map(|a| format!("{}%{}", if a.by_ref { "&" } else { "" }, a.node))
                        .collect();
                    let split = outputs.map(|k| format!(" -> {k} outputs")).unwrap_or_default();
                    format!("{name}({}){split}", args.join(", "))
                }
                NodeKind::Item { tuple, index } => format!("%{tuple}.{index}"),
                NodeKind::Field { base, path } => format!("%{base}.{}", path_string(path)),
            };
            write!(f, "%{id} = {rhs}")?;
            if let Some(name) = &node.name {
                write!(f, "  // {name}")?;
            }
            writeln!(f)?;
        }
        writeln!(f, "output %{}", self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Errors;
    use crate::parse;

    #[test]
    fn builds_ssa_with_shadowing_fan_out_and_splits() {
        let func: syn::ItemFn = syn::parse_quote! {
            fn f(x: &Array2<f64>, w: &Array2<f64>, s: f64) -> f64 {
                let h = relu(&matmul(x, w));
                let h = h * s;
                let (a, _) = duplicate(&h);
                sum(&(a + h))
            }
        };
        let mut errors = Errors::default();
        let sig = parse::signature(&func, None, &mut errors).expect("signature");
        let body = parse::body(&func).expect("body");
        let graph = build(&sig, &body).expect("graph");
        assert_eq!(graph.validate(), Ok(()));
        let expected = "\
%0 = param 0  // x
%1 = param 1  // w
%2 = param 2  // s
%3 = matmul(&%0, &%1)
%4 = relu(&%3)  // h
%5 = mul(&%4, &%2)  // h
%6 = duplicate(&%5) -> 2 outputs
%7 = %6.0  // a
%8 = add(&%7, &%5)
%9 = sum(&%8)
output %9
";
        assert_eq!(graph.to_string(), expected);
    }

    #[test]
    fn validate_rejects_a_use_before_its_definition() {
        let graph = Graph {
            nodes: vec![Node {
                kind: NodeKind::Item { tuple: 0, index: 0 },
                span: Span::call_site(),
                ty: None,
                name: None,
            }],
            output: 0,
        };
        assert!(graph.validate().is_err());
    }
}
