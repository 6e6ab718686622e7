//! Expressions: module and method calls, operators, references, variables
//! and fields of parameters, and code kept as written (with the names it
//! reads resolved, and what reading an active value there means).
use std::collections::HashMap;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;

use super::{
    Lowerer, REJECT_CALLEE, REJECT_CAST, REJECT_CLOSURE, REJECT_DEREF, REJECT_FIELD, REJECT_INDEX, REJECT_LIST_INDEX,
    REJECT_MACRO, REJECT_METHOD, REJECT_MUT_REF, REJECT_OPERATOR, REJECT_OTHER,
};
use crate::ir::{Callee, Expr, Op, Opaque, UseOfActive, VarId, VarKind};

/// ndarray's methods that compute values: on an active array they would not
/// be differentiated, so they are errors rather than module calls.
pub(super) const ARRAY_METHODS: &[&str] = &[
    "sum",
    "mean",
    "mapv",
    "map",
    "mapv_into",
    "mapv_inplace",
    "map_inplace",
    "t",
    "dot",
    "sqrt",
    "exp",
    "ln",
    "abs",
    "powi",
    "powf",
    "clone",
    "to_owned",
    "into_owned",
    "view",
    "row",
    "column",
    "slice",
    "select",
    "fold",
    "iter",
    "into_iter",
    "sum_axis",
    "mean_axis",
    "var",
    "std",
    "max",
    "min",
    "reversed_axes",
    "into_shape_with_order",
    "to_shape",
    "insert_axis",
    "index_axis",
    "assign",
    "fill",
    "signum",
    "recip",
    "tanh",
    "sin",
    "cos",
];

/// Macros that may read active values as statements: they print or check,
/// and return nothing the function uses.
pub(super) const PRINTING: &[&str] = &[
    "println",
    "eprintln",
    "print",
    "eprint",
    "dbg",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "write",
    "writeln",
];

/// Methods that read only the shape of an array: allowed on active values,
/// whose shape is constant.
pub(super) const SHAPE_QUERIES: &[&str] = &[
    "shape", "dim", "raw_dim", "len", "nrows", "ncols", "ndim", "is_empty", "len_of",
];

impl Lowerer<'_> {
    /// An expression as a tree of calls over variables; anything else is kept
    /// as written.
    pub(super) fn expr(&mut self, e: &syn::Expr) -> Expr {
        match e {
            syn::Expr::Paren(p) => self.expr(&p.expr),
            syn::Expr::Group(g) => self.expr(&g.expr),
            syn::Expr::Reference(r) if r.mutability.is_none() => Expr::Ref(Box::new(self.expr(&r.expr))),
            syn::Expr::Reference(_) => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_MUT_REF))),
            syn::Expr::Path(p) if p.qself.is_none() => {
                match p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                    // A name for an element of a model's list.
                    Some(var) if let Some(place) = self.vars[var].place.clone() => self.expr(&place),
                    // A name bound to `&h` is a reference to `h`.
                    Some(var) if self.names_reference(&p.path) => Expr::Ref(Box::new(Expr::Var(var, e.span()))),
                    Some(var) => Expr::Var(var, e.span()),
                    None => Expr::Opaque(self.opaque(e, UseOfActive::Allowed)),
                }
            }
            syn::Expr::Call(call) => match &*call.func {
                syn::Expr::Path(func) if func.qself.is_none() && self.callable(&func.path) => {
                    let args = call.args.iter().map(|a| self.expr(a)).collect();
                    Expr::Call {
                        callee: Callee::Module(func.path.clone()),
                        args,
                        span: e.span(),
                        tokens: e.to_token_stream(),
                    }
                }
                _ => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_CALLEE))),
            },
            syn::Expr::Binary(b) => {
                let op = match b.op {
                    syn::BinOp::Add(_) => Op::Add,
                    syn::BinOp::Sub(_) => Op::Sub,
                    syn::BinOp::Mul(_) => Op::Mul,
                    syn::BinOp::Div(_) => Op::Div,
                    syn::BinOp::Eq(_)
                    | syn::BinOp::Ne(_)
                    | syn::BinOp::Lt(_)
                    | syn::BinOp::Le(_)
                    | syn::BinOp::Gt(_)
                    | syn::BinOp::Ge(_)
                    | syn::BinOp::And(_)
                    | syn::BinOp::Or(_) => return Expr::Opaque(self.opaque(e, UseOfActive::Allowed)),
                    _ => return Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_OPERATOR))),
                };
                Expr::Call {
                    callee: Callee::Op(op),
                    args: vec![
                        Expr::Ref(Box::new(self.expr(&b.left))),
                        Expr::Ref(Box::new(self.expr(&b.right))),
                    ],
                    span: e.span(),
                    tokens: quote::quote!((#e)),
                }
            }
            syn::Expr::Unary(u) => match u.op {
                syn::UnOp::Neg(_) => {
                    let operand = self.expr(&u.expr);
                    // Every `-` lowered is a node of the function itself (the
                    // lowering never clones what it lowers), so it has a site.
                    if let Some(&site) = self.negation_sites.get(&(e as *const syn::Expr as usize)) {
                        self.negations.push((site, operand.clone()));
                    }
                    Expr::Call {
                        callee: Callee::Op(Op::Neg),
                        args: vec![Expr::Ref(Box::new(operand))],
                        span: e.span(),
                        tokens: quote::quote!((#e)),
                    }
                }
                syn::UnOp::Not(_) => Expr::Opaque(self.opaque(e, UseOfActive::Allowed)),
                _ => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_DEREF))),
            },
            syn::Expr::Field(f) => match self.element_path(e) {
                Some((base, path, index)) => Expr::Field {
                    base,
                    path,
                    index: self.element_index(index),
                    span: e.span(),
                },
                None => {
                    let message = if self.indexes_a_list(&f.base) {
                        REJECT_LIST_INDEX
                    } else {
                        REJECT_FIELD
                    };
                    Expr::Opaque(self.opaque(e, UseOfActive::Rejected(message)))
                }
            },
            syn::Expr::If(i) => {
                self.errors.spanned(
                    i.if_token,
                    "an `if` inside an expression is not supported: bind it first, `let y = if c { a } else { b };`",
                );
                Expr::Opaque(self.opaque(e, UseOfActive::Allowed))
            }
            syn::Expr::Match(m) => {
                self.errors.spanned(
                    m.match_token,
                    "a `match` inside an expression is not supported: bind it first, `let y = match k { ... };`",
                );
                Expr::Opaque(self.opaque(e, UseOfActive::Allowed))
            }
            // `net.layers.first().unwrap()`, `net.layers.last().unwrap()`.
            syn::Expr::MethodCall(_) if let Some((base, path, index @ Some(_))) = self.element_path(e) => Expr::Field {
                base,
                path,
                index: self.element_index(index),
                span: e.span(),
            },
            syn::Expr::MethodCall(m) if SHAPE_QUERIES.contains(&m.method.to_string().as_str()) => {
                Expr::Opaque(self.opaque(e, UseOfActive::Allowed))
            }
            syn::Expr::MethodCall(m)
                if self.is_model(&m.receiver) && !ARRAY_METHODS.contains(&m.method.to_string().as_str()) =>
            {
                // `self.encoder.forward(&x)`: a differentiable method of a
                // model is a module whose first argument is the receiver.
                let mut args = vec![Expr::Ref(Box::new(self.expr(&m.receiver)))];
                args.extend(m.args.iter().map(|a| self.expr(a)));
                Expr::Call {
                    callee: Callee::Method {
                        method: m.method.clone(),
                        turbofish: m.turbofish.as_ref().map(|t| t.to_token_stream()),
                    },
                    args,
                    span: e.span(),
                    tokens: e.to_token_stream(),
                }
            }
            syn::Expr::MethodCall(m) => match self.idiom(m, e) {
                Some(call) => call,
                None => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_METHOD))),
            },
            // `net.layers[i]`: one element of a model's list field.
            syn::Expr::Index(_) if let Some((base, path, index @ Some(_))) = self.element_path(e) => Expr::Field {
                base,
                path,
                index: self.element_index(index),
                span: e.span(),
            },
            syn::Expr::Index(_) => {
                let message = if self.indexes_a_list(e) {
                    REJECT_LIST_INDEX
                } else {
                    REJECT_INDEX
                };
                Expr::Opaque(self.opaque(e, UseOfActive::Rejected(message)))
            }
            syn::Expr::Cast(_) => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_CAST))),
            syn::Expr::Macro(m) => Expr::Opaque(self.opaque_macro(&m.mac, e.to_token_stream(), false)),
            syn::Expr::Closure(_) => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_CLOSURE))),
            syn::Expr::Lit(_) => Expr::Opaque(self.opaque(e, UseOfActive::Allowed)),
            _ => Expr::Opaque(self.opaque(e, UseOfActive::Rejected(REJECT_OTHER))),
        }
    }

    /// An ndarray method as the module it means (`h.t()` is `transpose(&h)`),
    /// with the method call as written kept for when it is constant.
    fn idiom(&mut self, m: &syn::ExprMethodCall, e: &syn::Expr) -> Option<Expr> {
        if m.turbofish.is_some() {
            return None;
        }
        let method = m.method.to_string();
        // `x.mean().unwrap()`: ndarray's means are `Option`s (`None` when empty).
        if matches!(method.as_str(), "unwrap" | "expect")
            && let syn::Expr::MethodCall(inner) = &*m.receiver
            && inner.turbofish.is_none()
            && matches!(
                (inner.method.to_string().as_str(), inner.args.len()),
                ("mean", 0) | ("mean_axis", 1)
            )
        {
            let module = inner.method.clone();
            return Some(self.module_call(&module, &inner.receiver, &inner.args, e));
        }
        let module = match (method.as_str(), m.args.len()) {
            ("clone" | "to_owned", 0) => "copy",
            ("t" | "reversed_axes", 0) => "transpose",
            ("dot", 1) => "matmul",
            ("slice", 1) => "slice",
            ("sum", 0) => "sum",
            ("sum_axis", 1) => "sum_axis",
            ("sqrt" | "exp" | "abs" | "tanh", 0) => method.as_str(),
            ("ln", 0) => "log",
            ("powf" | "powi", 1) => "pow",
            ("max", 1) => "max",
            _ => return None,
        };
        let module = syn::Ident::new(module, m.method.span());
        if method == "powi" {
            // The integer exponent as the element type.
            let n = &m.args[0];
            let exponent: syn::Expr = syn::parse_quote_spanned!(n.span()=> ::autodiff::__private::exponent(#n));
            let mut call = self.module_call(&module, &m.receiver, &syn::punctuated::Punctuated::new(), e);
            if let Expr::Call { args, .. } = &mut call {
                args.push(Expr::Opaque(self.opaque(&exponent, UseOfActive::Rejected(REJECT_CAST))));
            }
            return Some(call);
        }
        Some(self.module_call(&module, &m.receiver, &m.args, e))
    }

    /// `module(&receiver, args..)`, an array argument by reference (`a.dot(&b)`,
    /// `a.max(b)`) and a constant one (an axis, a slice, an exponent) as written.
    fn module_call(
        &mut self,
        module: &syn::Ident,
        receiver: &syn::Expr,
        args: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
        e: &syn::Expr,
    ) -> Expr {
        let mut lowered = vec![Expr::Ref(Box::new(self.expr(receiver)))];
        for arg in args {
            let arg = match (module.to_string().as_str(), self.expr(arg)) {
                ("max", arg @ Expr::Ref(_)) => arg,
                ("max", arg) => Expr::Ref(Box::new(arg)),
                (_, arg) => arg,
            };
            lowered.push(arg);
        }
        Expr::Call {
            callee: Callee::Module(syn::parse_quote_spanned!(module.span()=> ::autodiff::__private::#module)),
            args: lowered,
            span: e.span(),
            tokens: e.to_token_stream(),
        }
    }

    /// A model: `self`, a parameter struct, a field of one or a layer of one
    /// (not a parameter whose type is an array or a float).
    pub(super) fn is_model(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Paren(p) => self.is_model(&p.expr),
            syn::Expr::Reference(r) => self.is_model(&r.expr),
            syn::Expr::Field(_) | syn::Expr::Index(_) | syn::Expr::MethodCall(_) => self.element_path(e).is_some(),
            syn::Expr::Path(p) if p.qself.is_none() => p
                .path
                .get_ident()
                .and_then(|i| self.lookup(&i.to_string()))
                .is_some_and(|v| match self.vars[v].kind {
                    _ if self.vars[v].place.is_some() => true,
                    VarKind::Param(i) => !self.array_params.contains(&i),
                    VarKind::Layer { .. } => true,
                    _ => false,
                }),
            _ => false,
        }
    }

    /// A call `f(...)` is a module call unless `f` is a local (a closure).
    pub(super) fn callable(&self, path: &syn::Path) -> bool {
        path.get_ident().is_none_or(|i| self.lookup(&i.to_string()).is_none())
    }

    /// Whether `e` is, or reads a field of, an element of a parameter's
    /// field: `model.layers[i]`, `model.layers[i].w`.
    pub(super) fn indexes_a_list(&self, e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Index(ix) => {
                matches!(&*ix.expr, syn::Expr::Field(_)) && matches!(self.element_path(&ix.expr), Some((_, _, None)))
            }
            syn::Expr::Field(f) => self.indexes_a_list(&f.base),
            syn::Expr::Paren(p) => self.indexes_a_list(&p.expr),
            // `x.list.first().unwrap()`.
            syn::Expr::MethodCall(m) if matches!(m.method.to_string().as_str(), "unwrap" | "expect") => {
                matches!(&*m.receiver, syn::Expr::MethodCall(end)
                    if matches!(end.method.to_string().as_str(), "first" | "last")
                        && matches!(&*end.receiver, syn::Expr::Field(_)))
            }
            _ => false,
        }
    }

    /// A field of a parameter, or of one element of a list field of it:
    /// `net.w`, `net.layers[i].w`, `net.layers[i]`,
    /// `net.layers.first().unwrap().w`. The variable, the path of fields,
    /// and where the index goes (after how many fields) with its expression.
    #[allow(clippy::type_complexity)]
    pub(super) fn element_path(&self, e: &syn::Expr) -> Option<(VarId, Vec<syn::Ident>, Option<(usize, syn::Expr)>)> {
        match e {
            syn::Expr::Paren(p) => self.element_path(&p.expr),
            syn::Expr::Path(p) if p.qself.is_none() => {
                let var = self.lookup(&p.path.get_ident()?.to_string())?;
                if let Some(place) = &self.vars[var].place {
                    return self.element_path(place);
                }
                matches!(self.vars[var].kind, VarKind::Param(_) | VarKind::Layer { .. }).then_some((
                    var,
                    Vec::new(),
                    None,
                ))
            }
            syn::Expr::Field(f) => {
                let syn::Member::Named(member) = &f.member else {
                    return None;
                };
                let (base, mut path, index) = self.element_path(&f.base)?;
                path.push(member.clone());
                Some((base, path, index))
            }
            syn::Expr::Index(ix) => {
                let (base, path, None) = self.element_path(&ix.expr)? else {
                    return None;
                };
                let list = !path.is_empty() && matches!(self.vars[base].kind, VarKind::Param(_));
                list.then(|| (base, path.clone(), Some((path.len(), (*ix.index).clone()))))
            }
            syn::Expr::MethodCall(unwrap)
                if matches!(unwrap.method.to_string().as_str(), "unwrap" | "expect")
                    && let syn::Expr::MethodCall(end) = &*unwrap.receiver
                    && end.args.is_empty()
                    && matches!(end.method.to_string().as_str(), "first" | "last") =>
            {
                let (base, path, None) = self.element_path(&end.receiver)? else {
                    return None;
                };
                if path.is_empty() || !matches!(self.vars[base].kind, VarKind::Param(_)) {
                    return None;
                }
                let list = &end.receiver;
                let index: syn::Expr = if end.method == "first" {
                    syn::parse_quote_spanned!(end.method.span()=> 0)
                } else {
                    syn::parse_quote_spanned!(end.method.span()=> (#list).len() - 1)
                };
                Some((base, path.clone(), Some((path.len(), index))))
            }
            _ => None,
        }
    }

    /// Whether `e` names a `let mut` binding.
    pub(super) fn reads_mutable(&self, e: &syn::Expr) -> bool {
        struct Reads<'a, 'l>(&'a Lowerer<'l>, bool);
        impl<'ast> Visit<'ast> for Reads<'_, '_> {
            fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
                if let Some(ident) = p.path.get_ident()
                    && let Some(var) = self.0.lookup(&ident.to_string())
                {
                    self.1 |= self.0.vars[var].mutable;
                }
            }
        }
        let mut reads = Reads(self, false);
        reads.visit_expr(e);
        reads.1
    }

    /// An element's index as constant code: it may read shapes of active
    /// values (`net.layers.len() - 1`), never their elements.
    fn element_index(&mut self, index: Option<(usize, syn::Expr)>) -> Option<crate::ir::ElementIndex> {
        let (at, expr) = index?;
        Some(crate::ir::ElementIndex {
            at,
            expr: self.opaque(&expr, UseOfActive::Allowed),
        })
    }

    /// Code kept as written: records what each name in it resolves to, and
    /// reports what may never appear in a differentiable function.
    pub(super) fn opaque(&mut self, e: &syn::Expr, use_of_active: UseOfActive) -> Opaque {
        let mut visitor = Names {
            lowerer: self,
            names: Vec::new(),
            macro_reads: Vec::new(),
            queried: Vec::new(),
        };
        visitor.visit_expr(e);
        fn is_place(e: &syn::Expr) -> bool {
            match e {
                syn::Expr::Path(_) => true,
                syn::Expr::Field(f) => is_place(&f.base),
                syn::Expr::Index(i) => is_place(&i.expr),
                syn::Expr::Paren(p) => is_place(&p.expr),
                _ => false,
            }
        }
        // A place's first name is its root: `x` of `x.f[i]`.
        let place_of = if is_place(e) {
            visitor.names.first().copied().flatten()
        } else {
            None
        };
        Opaque {
            expr: e.clone(),
            names: visitor.names,
            macro_reads: visitor.macro_reads,
            queried: visitor.queried,
            use_of_active,
            place_of,
        }
    }

    /// A macro's tokens cannot be parsed, but the names in them can be seen.
    /// As a `statement`, a printing macro or an assertion may read active values.
    pub(super) fn opaque_macro(&mut self, mac: &syn::Macro, tokens: TokenStream, statement: bool) -> Opaque {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let printed = statement && mac.path.segments.len() <= 2 && PRINTING.contains(&name.as_str());
        let mut names = Vec::new();
        self.macro_names(mac.tokens.clone(), &mut names);
        let expr = syn::parse2::<syn::Expr>(tokens).unwrap_or_else(|_| {
            syn::Expr::Macro(syn::ExprMacro {
                attrs: vec![],
                mac: mac.clone(),
            })
        });
        Opaque {
            expr,
            names: Vec::new(),
            macro_reads: names.into_iter().flatten().collect(),
            queried: Vec::new(),
            use_of_active: if printed {
                UseOfActive::Printed
            } else {
                UseOfActive::Rejected(REJECT_MACRO)
            },
            place_of: None,
        }
    }

    pub(super) fn macro_names(&self, tokens: TokenStream, names: &mut Vec<Option<VarId>>) {
        for tree in tokens {
            match tree {
                TokenTree::Ident(i) => {
                    if let Some(var) = self.lookup(&i.to_string()) {
                        names.push(Some(var));
                    }
                }
                TokenTree::Group(g) => self.macro_names(g.stream(), names),
                // A format string's inline arguments, `"{loss:.3}"`.
                TokenTree::Literal(l) => {
                    if let Ok(syn::Lit::Str(s)) = syn::parse2::<syn::Lit>(l.into_token_stream()) {
                        for name in format_captures(&s.value()) {
                            if let Some(var) = self.lookup(&name) {
                                names.push(Some(var));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The names a format string captures: `x` of `"{x}"` and `"{x:>8.3}"`
/// (not `{0}`, `{}`, `{{`).
fn format_captures(format: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            continue;
        }
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let name = rest[..end].trim();
        let name = name.strip_prefix("r#").unwrap_or(name);
        if name.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            names.push(name.to_string());
        }
        rest = &rest[end..];
    }
    names
}

#[cfg(test)]
#[test]
fn format_strings_capture_names() {
    assert_eq!(
        format_captures("{a} {{b}} {c:.3} {0} {} {d:>8} {_e}"),
        ["a", "c", "d", "_e"]
    );
}

pub(super) fn is_reference(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Paren(p) => is_reference(&p.expr),
        syn::Expr::Reference(_) => true,
        _ => false,
    }
}

/// Collects what each single-name path resolves to, and reports the
/// constructs that are never allowed.
pub(super) struct Names<'l, 'e> {
    lowerer: &'l mut Lowerer<'e>,
    names: Vec<Option<VarId>>,
    macro_reads: Vec<VarId>,
    queried: Vec<usize>,
}

impl<'ast> Visit<'ast> for Names<'_, '_> {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none()
            && let Some(ident) = p.path.get_ident()
        {
            self.names.push(self.lowerer.lookup(&ident.to_string()));
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if SHAPE_QUERIES.contains(&m.method.to_string().as_str()) {
            let start = self.names.len();
            self.visit_expr(&m.receiver);
            self.queried.extend(start..self.names.len());
            for arg in &m.args {
                self.visit_expr(arg);
            }
        } else {
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Names inside a macro cannot be substituted: recorded apart, as reads.
        let mut names = Vec::new();
        self.lowerer.macro_names(m.tokens.clone(), &mut names);
        self.macro_reads.extend(names.into_iter().flatten());
    }
    fn visit_expr_unsafe(&mut self, u: &'ast syn::ExprUnsafe) {
        self.lowerer.errors.spanned(
            u.unsafe_token,
            "`unsafe` blocks are not supported in a differentiable function",
        );
    }
    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        self.lowerer.errors.spanned(
            a.async_token,
            "`async` blocks are not supported in a differentiable function",
        );
    }
    fn visit_expr_await(&mut self, a: &'ast syn::ExprAwait) {
        self.lowerer
            .errors
            .spanned(a.await_token, "`.await` is not supported in a differentiable function");
    }
    fn visit_expr_try(&mut self, t: &'ast syn::ExprTry) {
        self.lowerer.errors.spanned(
            t.question_token,
            "the `?` operator is not supported: modules return values, not `Result`s",
        );
    }
    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        // A closure's parameters shadow outer names inside it.
        self.lowerer.scopes.push(HashMap::new());
        for input in &c.inputs {
            self.lowerer.bind_pattern(input);
        }
        self.visit_expr(&c.body);
        self.lowerer.scopes.pop();
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}
