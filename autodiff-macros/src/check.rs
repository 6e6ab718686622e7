//! Every construct `#[differentiable]` rejects, one function per rule, each
//! reporting at the user's tokens. All rules run and all errors are collected,
//! so the user sees every mistake at once.
//!
//! The accepted body is a straight-line dataflow graph: `let` bindings of module
//! calls, operators, literals and references, ending in a tail expression.
//! Everything that would make the graph depend on run-time data (control flow),
//! mutate a value (assignment), or hide code from the macro (macros, closures,
//! methods) is rejected here, before any graph is built.

use syn::spanned::Spanned;
use syn::{BinOp, Expr, FnArg, ItemFn, Pat, ReturnType, Stmt, UnOp};

use crate::errors::Errors;

/// Runs every rule over the signature and body.
pub fn function(func: &ItemFn, errors: &mut Errors) {
    check_signature(func, errors);
    let stmts = &func.block.stmts;
    for (i, stmt) in stmts.iter().enumerate() {
        check_statement(stmt, i + 1 == stmts.len(), errors);
    }
    check_tail(func, errors);
}

/// The signature must be that of a plain function we can copy: the generated
/// `_grad` takes the same parameters, and its gradient struct names them.
fn check_signature(func: &ItemFn, errors: &mut Errors) {
    let sig = &func.sig;
    if let Some(t) = &sig.asyncness {
        errors.spanned(t, "`async fn` cannot be differentiated: write a plain `fn`");
    }
    if let Some(t) = &sig.unsafety {
        errors.spanned(t, "`unsafe fn` cannot be differentiated: write a plain `fn`");
    }
    if let Some(t) = &sig.constness {
        errors.spanned(t, "`const fn` cannot be differentiated: write a plain `fn`");
    }
    if let Some(v) = &sig.variadic {
        errors.spanned(v, "variadic functions cannot be differentiated");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(
            &sig.generics,
            "generic functions are not supported yet: write the function for `f32` or `f64`",
        );
    }
    if let ReturnType::Default = sig.output {
        errors.spanned(
            &sig.ident,
            "a differentiable function must return a value, such as the loss: add `-> f64`",
        );
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => errors.spanned(
                r,
                "`self` cannot be differentiated: write a free function and pass the model as a parameter",
            ),
            FnArg::Typed(typed) => check_parameter_pattern(&typed.pat, errors),
        }
    }
}

/// Parameters are named plainly: the gradient struct has one field per name.
fn check_parameter_pattern(pat: &Pat, errors: &mut Errors) {
    match pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
            if let Some(m) = &p.mutability {
                errors.spanned(
                    m,
                    "parameters of a differentiable function cannot be `mut`: values are immutable",
                );
            }
        }
        other => errors.spanned(
            other,
            "parameters must be plain names, like `x: &Array2<f64>`, so gradients can be named after them",
        ),
    }
}

fn check_statement(stmt: &Stmt, is_last: bool, errors: &mut Errors) {
    match stmt {
        Stmt::Local(local) => {
            check_let_pattern(&local.pat, errors);
            match &local.init {
                None => errors.spanned(
                    local,
                    "`let` without a value is not supported: bind the value where it is computed",
                ),
                Some(init) => {
                    if let Some((else_token, _)) = &init.diverge {
                        errors.spanned(else_token, "`let ... else` is control flow, which is not supported");
                    }
                    check_expr(&init.expr, errors);
                }
            }
        }
        Stmt::Item(item) => errors.spanned(
            item,
            "items inside a differentiable function are not supported: define them outside the function",
        ),
        Stmt::Macro(m) => check_macro(&m.mac, errors),
        Stmt::Expr(expr, semi) => {
            if is_last && semi.is_none() {
                check_expr(expr, errors);
            } else {
                check_expression_statement(expr, errors);
            }
        }
    }
}

/// A statement that is not a `let` can only matter through a side effect
/// (assignment, a loop...), which a dataflow graph cannot have.
fn check_expression_statement(expr: &Expr, errors: &mut Errors) {
    match expr {
        Expr::Assign(_) | Expr::Binary(_) | Expr::If(_) | Expr::Match(_) | Expr::Loop(_) | Expr::While(_)
        | Expr::ForLoop(_) | Expr::Macro(_) | Expr::Return(_) | Expr::Unsafe(_) | Expr::Closure(_) => {
            check_expr(expr, errors)
        }
        other => errors.spanned(
            other,
            "a statement without `let` has no effect on the result: bind it with `let`, or make it the final expression",
        ),
    }
}

/// `let` patterns name values (`let h = ...`), or split a multi-output module
/// (`let (a, b) = duplicate(&x);`); values are never mutated.
fn check_let_pattern(pat: &Pat, errors: &mut Errors) {
    match pat {
        Pat::Type(typed) => check_let_pattern(&typed.pat, errors),
        Pat::Ident(p) => {
            if let Some(m) = &p.mutability {
                errors.spanned(
                    m,
                    "`let mut` is not supported: values are immutable in a differentiable function; bind a new value with `let` instead (shadowing works)",
                );
            }
            if p.by_ref.is_some() || p.subpat.is_some() {
                errors.spanned(p, "only plain names can be bound: `let name = ...`");
            }
        }
        Pat::Wild(_) => {}
        Pat::Tuple(tuple) => {
            for elem in &tuple.elems {
                match elem {
                    Pat::Ident(_) | Pat::Wild(_) => check_let_pattern(elem, errors),
                    other => errors.spanned(
                        other,
                        "tuple patterns may hold only names and `_`: `let (a, b) = duplicate(&x);`",
                    ),
                }
            }
        }
        other => errors.spanned(
            other,
            "unsupported pattern: bind a name (`let h = ...`) or a tuple of names (`let (a, b) = ...`)",
        ),
    }
}

/// The body must end with the result: `_grad` differentiates that value.
fn check_tail(func: &ItemFn, errors: &mut Errors) {
    match func.block.stmts.last() {
        Some(Stmt::Expr(_, None)) => {}
        _ => errors.push(syn::Error::new(
            func.block.brace_token.span.close(),
            "the body must end with the result expression (no `;`), for example `cross_entropy(&z, labels)`",
        )),
    }
}

/// Macros expand after this attribute runs, so their contents cannot be seen.
fn check_macro(mac: &syn::Macro, errors: &mut Errors) {
    errors.spanned(
        mac,
        "macro calls are not supported in a differentiable function: the macro cannot see inside them",
    );
}

fn check_expr(expr: &Expr, errors: &mut Errors) {
    match expr {
        Expr::Call(call) => check_call(call, errors),
        Expr::Binary(binary) => check_binary(binary, errors),
        Expr::Unary(unary) => check_unary(unary, errors),
        Expr::Reference(reference) => {
            if let Some(m) = &reference.mutability {
                errors.spanned(
                    m,
                    "`&mut` is not supported: modules read their inputs and return new values",
                );
            }
            check_expr(&reference.expr, errors);
        }
        Expr::Paren(p) => check_expr(&p.expr, errors),
        Expr::Group(g) => check_expr(&g.expr, errors),
        Expr::Lit(_) => {}
        Expr::Path(path) => check_path(path, errors),
        Expr::Field(field) => check_field(field, errors),
        other => check_unsupported(other, errors),
    }
}

/// A module call names a function: its VJP is found by adding `_vjp` to the name.
fn check_call(call: &syn::ExprCall, errors: &mut Errors) {
    match &*call.func {
        Expr::Path(path) if path.qself.is_none() => {
            if let Some(last) = path.path.segments.last()
                && !last.arguments.is_none()
            {
                errors.spanned(
                    &last.arguments,
                    "generic arguments on a module call are not supported: let the types be inferred",
                );
            }
        }
        other => errors.spanned(
            other,
            "only calls of a named function (a module such as `relu`) are supported",
        ),
    }
    for arg in &call.args {
        check_expr(arg, errors);
    }
}

/// `+ - * /` are modules (`add`, `sub`, `mul`, `div`); other operators have no
/// gradient, and compound assignment mutates.
fn check_binary(binary: &syn::ExprBinary, errors: &mut Errors) {
    match binary.op {
        BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) => {}
        BinOp::AddAssign(_)
        | BinOp::SubAssign(_)
        | BinOp::MulAssign(_)
        | BinOp::DivAssign(_)
        | BinOp::RemAssign(_)
        | BinOp::BitXorAssign(_)
        | BinOp::BitAndAssign(_)
        | BinOp::BitOrAssign(_)
        | BinOp::ShlAssign(_)
        | BinOp::ShrAssign(_) => errors.spanned(
            binary,
            "compound assignment is not supported: values are immutable; write `let x = x + y;` instead",
        ),
        op => errors.spanned(
            op,
            format!(
                "operator `{}` is not supported: differentiable operators are `+`, `-`, `*`, `/` and unary `-`",
                quote::quote!(#op)
            ),
        ),
    }
    check_expr(&binary.left, errors);
    check_expr(&binary.right, errors);
}

fn check_unary(unary: &syn::ExprUnary, errors: &mut Errors) {
    match unary.op {
        UnOp::Neg(_) => {}
        UnOp::Deref(_) => errors.spanned(
            unary,
            "dereference (`*x`) is not supported: pass references to modules as they are",
        ),
        _ => errors.spanned(
            unary,
            "operator `!` is not supported: differentiable operators are `+`, `-`, `*`, `/` and unary `-`",
        ),
    }
    check_expr(&unary.expr, errors);
}

/// Names are parameters, `let` bindings or outside constants; `self` is none of these.
fn check_path(path: &syn::ExprPath, errors: &mut Errors) {
    if path.qself.is_some() {
        errors.spanned(path, "qualified paths (`<T as Trait>::X`) are not supported");
    } else if path.path.is_ident("self") {
        errors.spanned(
            path,
            "`self` cannot be differentiated: write a free function and pass the model as a parameter",
        );
    }
}

/// `model.w1` reads a tensor of a parameter struct (`#[derive(Params)]`).
fn check_field(field: &syn::ExprField, errors: &mut Errors) {
    if let syn::Member::Unnamed(index) = &field.member {
        errors.spanned(
            index,
            "tuple fields are not supported: destructure the tuple with `let (a, b) = ...`",
        );
    }
    match &*field.base {
        Expr::Path(path) if path.path.get_ident().is_some() => check_path(path, errors),
        Expr::Field(inner) => check_field(inner, errors),
        other => errors.spanned(other, "field access is supported on a parameter only, as in `model.w1`"),
    }
}

/// Everything else, with a message naming what was found and why it is refused.
fn check_unsupported(expr: &Expr, errors: &mut Errors) {
    let what = match expr {
        Expr::If(_) => {
            "`if` is control flow, which is not supported: the graph must not depend on data; compute both branches and combine them with modules such as `max`"
        }
        Expr::Match(_) => "`match` is control flow, which is not supported: the graph must not depend on data",
        Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
            "loops are not supported: the graph must be static; unroll the loop or call a differentiable function for each step"
        }
        Expr::Closure(_) => {
            "closures are not supported: define a module function, or a `#[differentiable]` function, and call it"
        }
        Expr::Unsafe(_) => "`unsafe` blocks are not supported in a differentiable function",
        Expr::Block(_) => "blocks are not supported: write the statements directly in the function body",
        Expr::Assign(_) => "assignment is not supported: values are immutable; bind a new value with `let` instead",
        Expr::Macro(m) => {
            return check_macro(&m.mac, errors);
        }
        Expr::Try(_) => "the `?` operator is not supported: modules return values, not `Result`s",
        Expr::MethodCall(m) => {
            return errors.spanned(
                m,
                format!(
                    "method calls are not supported: call a module as a function, like `{}(&x)` instead of `x.{}()`",
                    m.method, m.method
                ),
            );
        }
        Expr::Return(_) => "`return` is not supported: end the body with the result expression",
        Expr::Break(_) | Expr::Continue(_) => "`break` and `continue` are control flow, which is not supported",
        Expr::Index(_) => "indexing is not supported: use a module that selects values",
        Expr::Cast(_) => "casts (`as`) are not supported: write constants in the parameters' float type",
        Expr::Tuple(_) => "tuple expressions are not supported: a differentiable function returns one value",
        Expr::Array(_) | Expr::Repeat(_) => "array literals are not supported: pass arrays in as parameters",
        Expr::Struct(_) => "struct literals are not supported: pass structs in as parameters",
        Expr::Async(_) | Expr::Await(_) => "`async` and `.await` are not supported",
        Expr::Let(_) => "`let` expressions (`if let`, `while let`) are control flow, which is not supported",
        Expr::Range(_) => "ranges are not supported",
        _ => {
            "this expression is not supported in a differentiable function: use module calls, `+ - * /`, literals and references"
        }
    };
    errors.push(syn::Error::new(expr_head_span(expr), what));
}

/// Where to point for a rejected expression: its keyword (`if`, `for`, `|x|`...)
/// rather than the whole, possibly long, block.
fn expr_head_span(expr: &Expr) -> proc_macro2::Span {
    match expr {
        Expr::If(e) => e.if_token.span,
        Expr::Match(e) => e.match_token.span,
        Expr::Loop(e) => e.loop_token.span,
        Expr::While(e) => e.while_token.span,
        Expr::ForLoop(e) => e.for_token.span,
        Expr::Unsafe(e) => e.unsafe_token.span,
        Expr::Try(e) => e.question_token.span,
        Expr::Return(e) => e.return_token.span,
        other => other.span(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(func: ItemFn) -> Vec<String> {
        let mut errors = Errors::default();
        function(&func, &mut errors);
        match errors.finish() {
            Ok(()) => vec![],
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_the_spec_body() {
        let func: ItemFn = syn::parse_quote! {
            fn f(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
                let h = linear(x, w, b);
                let h = relu(&h);
                let (a, _) = duplicate(&h);
                let z = 2.0 * a - -h + b / 3.0;
                sum(&relu(&z))
            }
        };
        assert_eq!(messages(func), Vec::<String>::new());
    }

    #[test]
    fn reports_every_mistake_at_once() {
        let func: ItemFn = syn::parse_quote! {
            fn f(mut x: f64, y: &Array1<f64>) -> f64 {
                let mut a = x;
                for i in 0..3 {}
                let c = y.sum();
                let d = if true { 1.0 } else { 2.0 };
                println!("{}", a);
                a += 1.0;
                x % 2.0
            }
        };
        let all = messages(func);
        assert_eq!(all.len(), 8, "{all:#?}");
    }
}
