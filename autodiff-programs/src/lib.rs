//! Random function bodies in the version-2 grammar of `#[differentiable]`
//! (loops, branches, reassignment, `break`, `continue`, `return`, constant
//! code), for property tests: a dev crate of the workspace, used by the
//! macro's own tests (`autodiff-macros/src/fuzz.rs`) and by
//! `tests/random_programs.rs`, which compiles a sample and checks each
//! gradient against finite differences.

use proptest::prelude::*;

/// Names of the `let mut` arrays every generated body declares.
const VARS: usize = 3;

#[derive(Debug, Clone)]
pub enum Expr {
    Var(usize),
    Unary(&'static str, Box<Expr>),
    MatMul(Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Scaled(Box<Expr>),
    Neg(Box<Expr>),
}

#[derive(Debug, Clone)]
pub enum Stmt {
    Assign(usize, Expr),
    AddAssign(usize, Expr),
    Let(Expr),
    For(u8, Vec<Stmt>),
    While(u8, Vec<Stmt>),
    If(Cond, Vec<Stmt>, Vec<Stmt>),
    /// `match k % 3`; the first of several arms has a guard unless the condition is constant.
    Match(Cond, Vec<Vec<Stmt>>),
    Break,
    Continue,
    Return(usize),
    Counter,
}

#[derive(Debug, Clone)]
pub enum Cond {
    Constant,
    Active(usize),
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = (0..VARS).prop_map(Expr::Var);
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (prop_oneof![Just("relu"), Just("tanh"), Just("sigmoid")], inner.clone())
                .prop_map(|(f, e)| Expr::Unary(f, Box::new(e))),
            inner.clone().prop_map(|e| Expr::MatMul(Box::new(e))),
            (
                prop_oneof![Just("+"), Just("-"), Just("*")],
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| Expr::Binary(op, Box::new(a), Box::new(b))),
            inner.clone().prop_map(|e| Expr::Scaled(Box::new(e))),
            inner.prop_map(|e| Expr::Neg(Box::new(e))),
        ]
    })
}

fn cond() -> impl Strategy<Value = Cond> {
    prop_oneof![Just(Cond::Constant), (0..VARS).prop_map(Cond::Active)]
}

/// Statements; `in_loop` allows `break` and `continue`.
pub fn stmts(depth: u32, in_loop: bool) -> BoxedStrategy<Vec<Stmt>> {
    let simple = prop_oneof![
        4 => (0..VARS, expr()).prop_map(|(v, e)| Stmt::Assign(v, e)),
        1 => (0..VARS, expr()).prop_map(|(v, e)| Stmt::AddAssign(v, e)),
        2 => expr().prop_map(Stmt::Let),
        1 => (0..VARS).prop_map(Stmt::Return),
        1 => Just(Stmt::Counter),
    ];
    let simple = if in_loop {
        prop_oneof![6 => simple, 1 => Just(Stmt::Break), 1 => Just(Stmt::Continue)].boxed()
    } else {
        simple.boxed()
    };
    if depth == 0 {
        return proptest::collection::vec(simple, 0..4).boxed();
    }
    let nested = prop_oneof![
        3 => simple,
        1 => (0..3u8, stmts(depth - 1, true)).prop_map(|(n, b)| Stmt::For(n, b)),
        1 => (0..3u8, stmts(depth - 1, true)).prop_map(|(n, b)| Stmt::While(n, b)),
        1 => (cond(), stmts(depth - 1, in_loop), stmts(depth - 1, in_loop)).prop_map(|(c, a, b)| Stmt::If(c, a, b)),
        1 => (cond(), proptest::collection::vec(stmts(depth - 1, in_loop), 1..4)).prop_map(|(c, arms)| Stmt::Match(c, arms)),
    ];
    proptest::collection::vec(nested, 0..5).boxed()
}

fn print_expr(e: &Expr, out: &mut String) {
    match e {
        Expr::Var(v) => out.push_str(&format!("v{v}")),
        Expr::Unary(f, e) => {
            out.push_str(&format!("{f}(&"));
            print_expr(e, out);
            out.push(')');
        }
        Expr::MatMul(e) => {
            out.push_str("matmul(&");
            print_expr(e, out);
            out.push_str(", w)");
        }
        Expr::Binary(op, a, b) => {
            out.push_str("(&");
            print_expr(a, out);
            out.push_str(&format!(" {op} &"));
            print_expr(b, out);
            out.push(')');
        }
        Expr::Scaled(e) => {
            out.push_str("(&");
            print_expr(e, out);
            out.push_str(" * 0.5)");
        }
        Expr::Neg(e) => {
            out.push_str("(-&");
            print_expr(e, out);
            out.push(')');
        }
    }
}

fn print_stmts(stmts: &[Stmt], out: &mut String, fresh: &mut usize) {
    for s in stmts {
        match s {
            // A bare variable would be moved: assign a copy.
            Stmt::Assign(v, Expr::Var(u)) => out.push_str(&format!("v{v} = &v{u} * 1.0;\n")),
            Stmt::Assign(v, e) => {
                out.push_str(&format!("v{v} = "));
                print_expr(e, out);
                out.push_str(";\n");
            }
            Stmt::AddAssign(v, Expr::Var(u)) => out.push_str(&format!("v{v} += &(&v{u} * 1.0);\n")),
            Stmt::AddAssign(v, e) => {
                out.push_str(&format!("v{v} += &"));
                print_expr(e, out);
                out.push_str(";\n");
            }
            Stmt::Let(e) => {
                *fresh += 1;
                out.push_str(&format!("let t{fresh} = tanh(&"));
                print_expr(e, out);
                out.push_str(&format!(");\nv0 = &v0 + &t{fresh};\n"));
            }
            Stmt::For(n, body) => {
                out.push_str(&format!("for i in 0..{n} {{\nk += i;\n"));
                print_stmts(body, out, fresh);
                out.push_str("}\n");
            }
            Stmt::While(n, body) => {
                *fresh += 1;
                out.push_str(&format!(
                    "let mut c{fresh} = 0;\nwhile c{fresh} < {n} {{\nc{fresh} += 1;\n"
                ));
                print_stmts(body, out, fresh);
                out.push_str("}\n");
            }
            Stmt::If(c, a, b) => {
                match c {
                    Cond::Constant => out.push_str("if k % 2 == 0 {\n"),
                    Cond::Active(v) => out.push_str(&format!("if mean(&v{v}) > 0.0 {{\n")),
                }
                print_stmts(a, out, fresh);
                out.push_str("} else {\n");
                print_stmts(b, out, fresh);
                out.push_str("}\n");
            }
            Stmt::Match(guard, arms) => {
                out.push_str("match k % 3 {\n");
                for (i, arm) in arms.iter().enumerate() {
                    let pat = if i + 1 == arms.len() {
                        "_".to_string()
                    } else {
                        i.to_string()
                    };
                    match guard {
                        Cond::Active(v) if i == 0 && arms.len() > 1 => {
                            out.push_str(&format!("{pat} if mean(&v{v}) > 0.0 => {{\n"))
                        }
                        _ => out.push_str(&format!("{pat} => {{\n")),
                    }
                    print_stmts(arm, out, fresh);
                    out.push_str("}\n");
                }
                out.push_str("}\n");
            }
            Stmt::Break => out.push_str("break;\n"),
            Stmt::Continue => out.push_str("continue;\n"),
            Stmt::Return(v) => out.push_str(&format!("return sum(&v{v});\n")),
            Stmt::Counter => out.push_str("k += 1;\n"),
        }
    }
}

/// A whole function around a generated body.
pub fn function(body: &[Stmt]) -> String {
    named_function("f", body)
}

/// The same, named `name`.
pub fn named_function(name: &str, body: &[Stmt]) -> String {
    let mut out = format!(
        "fn {name}(x: &Array2<f64>, w: &Array2<f64>) -> f64 {{\nlet mut k = 0;\nlet mut v0 = matmul(x, w);\nlet mut v1 = tanh(&v0);\nlet mut v2 = relu(x);\n"
    );
    let mut fresh = 0;
    print_stmts(body, &mut out, &mut fresh);
    out.push_str("sum(&v0) + sum(&v1) * mean(&v2)\n}\n");
    out
}
