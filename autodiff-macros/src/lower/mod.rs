//! From `syn` to the IR in one pass: names resolved to variables (shadowing
//! makes a new one), expressions as trees, loops and branches as regions.
//! This is the one place that knows the grammar of a differentiable body.
//!
//! What can never be differentiated (closures that see active values are
//! found later, by `activity`) is reported here, every error of the function
//! at once: `unsafe`, `async`, `?`, items, `let ... else`, `if let`,
//! `break` with a value, control flow inside an expression.
//!
//! By what it lowers: [`stmt`] statements and regions, [`control`] branches,
//! loops and exits, [`expr`] expressions and code kept as written; this file
//! holds the scopes and the messages of what is refused.

mod control;
mod expr;
mod stmt;

use std::collections::HashMap;

use crate::errors::Errors;
use crate::ir::{Block, Expr, Function, LoopId, NegationSite, SiteId, Var, VarId, VarKind};
use crate::signature::Signature;
use stmt::is_unit_statement;

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
        let id = l.declare_ident(&param.ident, VarKind::Param(index));
        l.vars[id].assigns = 1;
    }
    let func = sig.func;
    let ret = l.declare("the result", VarKind::Ret);
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

impl Lowerer<'_> {
    /// A variable the passes introduce, described by `name` in messages.
    pub(super) fn declare(&mut self, name: &str, kind: VarKind) -> VarId {
        self.vars.push(Var {
            name: name.to_string(),
            ident: None,
            kind,
            ty: None,
            depth: self.depth,
            assigns: 0,
            item: None,
            mutable: false,
            place: None,
        });
        self.vars.len() - 1
    }

    /// A variable the user named, in scope from here on.
    pub(super) fn declare_ident(&mut self, ident: &syn::Ident, kind: VarKind) -> VarId {
        let id = self.declare(&ident.to_string(), kind);
        self.vars[id].ident = Some(ident.clone());
        if matches!(kind, VarKind::Param(_) | VarKind::Local | VarKind::Layer { .. }) {
            self.scopes.last_mut().expect("a scope").insert(ident.to_string(), id);
        }
        id
    }

    pub(super) fn lookup(&self, name: &str) -> Option<VarId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// Whether the binding a name resolves to is an alias made with `&`.
    pub(super) fn names_reference(&self, path: &syn::Path) -> bool {
        let Some(name) = path.get_ident().map(|i| i.to_string()) else {
            return false;
        };
        let Some(depth) = self.scopes.iter().rposition(|s| s.contains_key(&name)) else {
            return false;
        };
        self.ref_names.contains(&(depth + 1, name))
    }

    pub(super) fn site(&mut self) -> SiteId {
        let s = self.next_site;
        self.next_site += 1;
        s
    }
}

// What each kind of code kept as written means when it reads an active value.
pub(super) const REJECT_METHOD: &str = "this method would not be differentiated: on an active value, the methods that mean a module are accepted (`.clone()`, `.t()`, `.dot(&b)`, `.slice(s![..])`, `.sum()`, `.mean().unwrap()`, `.sum_axis(Axis(k))`, `.sqrt()`, `.exp()`, `.ln()`, `.powi(n)`, `.powf(p)`, `.abs()`, `.tanh()`, `.max(b)`) and shape queries (`.shape()`, `.nrows()`); for anything else, call a module (`exp(&h)`) or write one with `module!`";
pub(super) const REJECT_INDEX: &str = "indexing an active value's elements is not supported (it would not be differentiated): take a slice, which is (`h.slice(s![.., 0..4])`, a row `h.slice(s![i, ..])`; one element as a scalar: `h.slice(s![i..i + 1]).sum()`)";
pub(super) const REJECT_CAST: &str = "casting an active value with `as` is not supported (it would not be differentiated): write constants in the parameters' float type";
pub(super) const REJECT_MACRO: &str = "a macro whose value reads an active value is not supported: the macro cannot see inside it, so its value would not be differentiated; printing and assertion macros as statements (`println!`, `assert!`, `write!`) may read active values";
pub(super) const REJECT_CLOSURE: &str = "a closure that reads an active value is not supported: define a module function, or a `#[differentiable]` function, and call it";
pub(super) const REJECT_MUTATION: &str =
    "an active value cannot be changed in place: compute a new value with a module and assign it, `h = relu(&h);`";
pub(super) const REJECT_MUT_REF: &str =
    "`&mut` of an active value is not supported: modules read their inputs and return new values";
pub(super) const REJECT_OPERATOR: &str =
    "this operator is not supported on an active value: differentiable operators are `+`, `-`, `*`, `/` and unary `-`";
pub(super) const REJECT_DEREF: &str =
    "dereference (`*x`) of an active value is not supported: pass references to modules as they are";
pub(super) const REJECT_FIELD: &str = "field access is supported on a parameter only, as in `model.w1`";
pub(super) const REJECT_CALLEE: &str =
    "only calls of a named function (a module such as `relu`) can take an active value";
pub(super) const REJECT_ITERATE: &str = "a loop over an active value's elements is not supported: loop over indices or constant data, and use modules on the active value";
pub(super) const REJECT_LIST_INDEX: &str = "only a model parameter's own list can be indexed (`net.layers[i]`, `net.layers.last().unwrap()`), not a list inside one of its elements: visit that one with a loop, `for head in &block.heads { ... }`";
pub(super) const REJECT_PATTERN: &str = "this pattern cannot bind an active value: bind a name (`let h = ...`) or split a module's outputs (`let (a, b) = duplicate(&x);`)";
pub(super) const REJECT_STATEMENT: &str =
    "a statement without `let` has no effect on the result: bind it with `let`, or make it the final expression";
pub(super) const REJECT_OTHER: &str =
    "this expression is not supported on an active value: use module calls, `+ - * /`, literals and references";

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;

    use crate::ir::{Exit, ExitKind, Stmt};

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
