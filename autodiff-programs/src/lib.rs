//! Random function bodies in the version-2 grammar of `#[differentiable]`
//! (loops, branches, reassignment, `break`, `continue`, `return`, constant
//! code), for property tests: a dev crate of the workspace, used by the
//! macro's own tests (`autodiff-macros/src/fuzz.rs`) and by
//! `tests/random_programs.rs`, which compiles a sample and checks each
//! gradient against finite differences.

use proptest::prelude::*;

/// Names of the `let mut` arrays every generated body declares.
const VARS: usize = 3;

/// The parameters every generated function differentiates: `w` `[2, 2]`,
/// `b` `[2]` (broadcast over the rows) and the scalar `s`.
pub const WRT: &str = "w, b, s";

/// The events a generated function reports to its `trace` (constant code
/// beside each): an exit taken, or an iteration that starts with a value
/// carried from the one before. Each comes with how many iterations of the
/// innermost loop had completed.
pub mod event {
    pub const BREAK: u8 = 0;
    pub const CONTINUE: u8 = 1;
    pub const RETURN: u8 = 2;
    pub const CARRIED: u8 = 3;
}

#[derive(Debug, Clone)]
pub enum Expr {
    Var(usize),
    Unary(&'static str, Box<Expr>),
    MatMul(Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Scaled(Box<Expr>),
    Neg(Box<Expr>),
    /// `a / (σ(b) + 1)`: a quotient whose denominator stays in [1, 2].
    Div(Box<Expr>, Box<Expr>),
    Max(Box<Expr>, Box<Expr>),
    /// `e + b`, the bias broadcast over the rows.
    Bias(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExitKind {
    Break,
    Continue,
    Return(usize),
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
    /// An exit, alone or under `if n >= after && mean(&v) > t` (a computed
    /// condition, after `after` completed iterations of the innermost loop).
    Exit(ExitKind, Option<(usize, i8, u8)>),
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
            inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Div(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Max(Box::new(a), Box::new(b))),
            inner.prop_map(|e| Expr::Bias(Box::new(e))),
        ]
    })
}

fn cond() -> impl Strategy<Value = Cond> {
    prop_oneof![Just(Cond::Constant), (0..VARS).prop_map(Cond::Active)]
}

/// An exit: mostly under a computed condition, so that what follows it runs
/// on some paths.
fn exit(in_loop: bool) -> BoxedStrategy<Stmt> {
    let kind = if in_loop {
        prop_oneof![
            4 => Just(ExitKind::Break),
            2 => Just(ExitKind::Continue),
            2 => (0..VARS).prop_map(ExitKind::Return),
        ]
        .boxed()
    } else {
        (0..VARS).prop_map(ExitKind::Return).boxed()
    };
    let guard = prop_oneof![1 => Just(None), 4 => (0..VARS, -4..2i8, 0..3u8).prop_map(Some)];
    (kind, guard).prop_map(|(k, g)| Stmt::Exit(k, g)).boxed()
}

/// Statements (one to four at the top level, one to three in a region);
/// `in_loop` allows `break` and `continue`.
pub fn stmts(depth: u32, in_loop: bool) -> BoxedStrategy<Vec<Stmt>> {
    let simple = prop_oneof![
        5 => (0..VARS, expr()).prop_map(|(v, e)| Stmt::Assign(v, e)),
        2 => (0..VARS, expr()).prop_map(|(v, e)| Stmt::AddAssign(v, e)),
        2 => expr().prop_map(Stmt::Let),
        if in_loop { 4 } else { 1 } => exit(in_loop),
        1 => Just(Stmt::Counter),
    ];
    if depth == 0 {
        return proptest::collection::vec(simple, 1..4).boxed();
    }
    let nested = prop_oneof![
        3 => simple,
        2 => (0..7u8, stmts(depth - 1, true)).prop_map(|(n, b)| Stmt::For(n, b)),
        1 => (0..7u8, stmts(depth - 1, true)).prop_map(|(n, b)| Stmt::While(n, b)),
        1 => (cond(), stmts(depth - 1, in_loop), stmts(depth - 1, in_loop)).prop_map(|(c, a, b)| Stmt::If(c, a, b)),
        1 => (cond(), proptest::collection::vec(stmts(depth - 1, in_loop), 1..4)).prop_map(|(c, arms)| Stmt::Match(c, arms)),
    ];
    proptest::collection::vec(nested, 1..5).boxed()
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
        Expr::Div(a, b) => {
            out.push_str("(&");
            print_expr(a, out);
            out.push_str(" / &(&sigmoid(&");
            print_expr(b, out);
            out.push_str(") + 1.0))");
        }
        Expr::Max(a, b) => {
            out.push_str("max(&");
            print_expr(a, out);
            out.push_str(", &");
            print_expr(b, out);
            out.push(')');
        }
        Expr::Bias(e) => {
            out.push_str("(&");
            print_expr(e, out);
            out.push_str(" + b)");
        }
    }
}

/// Whether statements assign one of the `let mut` arrays declared before
/// them (a loop body that does carries a value between iterations).
fn assigns(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match s {
        Stmt::Assign(..) | Stmt::AddAssign(..) | Stmt::Let(_) => true,
        Stmt::For(_, b) | Stmt::While(_, b) => assigns(b),
        Stmt::If(_, a, b) => assigns(a) || assigns(b),
        Stmt::Match(_, arms) => arms.iter().any(|a| assigns(a)),
        Stmt::Exit(..) | Stmt::Counter => false,
    })
}

/// `completed`: the expression counting the completed iterations of the
/// innermost loop (`0` outside loops).
fn print_stmts(stmts: &[Stmt], out: &mut String, fresh: &mut usize, completed: &str) {
    for s in stmts {
        match s {
            // A bare variable would be moved: assign a copy.
            Stmt::Assign(v, Expr::Var(u)) => out.push_str(&format!("v{v} = &v{u} * 1.0;\n")),
            // Values assigned pass through tanh (halved when added), so that
            // loops of up to six iterations cannot blow them up.
            Stmt::Assign(v, e) => {
                out.push_str(&format!("v{v} = tanh(&"));
                print_expr(e, out);
                out.push_str(");\n");
            }
            Stmt::AddAssign(v, Expr::Var(u)) => out.push_str(&format!("v{v} += &(&v{u} * 0.5);\n")),
            Stmt::AddAssign(v, e) => {
                out.push_str(&format!("v{v} += &(tanh(&"));
                print_expr(e, out);
                out.push_str(") * 0.5);\n");
            }
            Stmt::Let(e) => {
                *fresh += 1;
                out.push_str(&format!("let t{fresh} = tanh(&"));
                print_expr(e, out);
                out.push_str(&format!(");\nv0 = &v0 + &t{fresh};\n"));
            }
            Stmt::For(n, body) => {
                *fresh += 1;
                let i = format!("i{fresh}");
                out.push_str(&format!("for {i} in 0..{n} {{\nk += {i};\n"));
                if assigns(body) {
                    out.push_str(&format!("if {i} > 0 {{ trace.note({}, {i}); }}\n", event::CARRIED));
                }
                print_stmts(body, out, fresh, &i);
                out.push_str("}\n");
            }
            Stmt::While(n, body) => {
                *fresh += 1;
                let c = format!("c{fresh}");
                out.push_str(&format!("let mut {c} = 0;\nwhile {c} < {n} {{\n{c} += 1;\n"));
                let done = format!("({c} - 1)");
                if assigns(body) {
                    out.push_str(&format!("if {c} > 1 {{ trace.note({}, {done}); }}\n", event::CARRIED));
                }
                print_stmts(body, out, fresh, &done);
                out.push_str("}\n");
            }
            Stmt::If(c, a, b) => {
                match c {
                    Cond::Constant => out.push_str("if k % 2 == 0 {\n"),
                    Cond::Active(v) => out.push_str(&format!("if mean(&v{v}) > 0.0 {{\n")),
                }
                print_stmts(a, out, fresh, completed);
                out.push_str("} else {\n");
                print_stmts(b, out, fresh, completed);
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
                    print_stmts(arm, out, fresh, completed);
                    out.push_str("}\n");
                }
                out.push_str("}\n");
            }
            Stmt::Exit(kind, guard) => {
                let (event, code) = match kind {
                    ExitKind::Break => (event::BREAK, "break;".to_string()),
                    ExitKind::Continue => (event::CONTINUE, "continue;".to_string()),
                    ExitKind::Return(v) => (event::RETURN, format!("return sum(&v{v}) * s;")),
                };
                let exit = format!("trace.note({event}, {completed});\n{code}\n");
                match guard {
                    Some((v, t, after)) => {
                        let t = f64::from(*t) * 0.25;
                        out.push_str(&format!(
                            "if {completed} >= {after} && mean(&v{v}) > {t:?} {{\n{exit}}}\n"
                        ));
                    }
                    None => out.push_str(&exit),
                }
            }
            Stmt::Counter => out.push_str("k += 1;\n"),
        }
    }
}

/// A whole function around a generated body.
pub fn function(body: &[Stmt]) -> String {
    named_function("f", body)
}

/// The same, named `name`. Its parameters: data `x` `[3, 2]`, the
/// differentiated [`WRT`], and `trace`, a `&Trace` with a method
/// `note(event, completed_iterations)` (see [`event`]).
pub fn named_function(name: &str, body: &[Stmt]) -> String {
    let mut out = format!(
        "fn {name}(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>, s: f64, trace: &Trace) -> f64 {{\nlet mut k = 0;\nlet mut v0 = matmul(x, w);\nlet mut v1 = tanh(&(&v0 + b));\nlet mut v2 = relu(x);\n"
    );
    let mut fresh = 0;
    print_stmts(body, &mut out, &mut fresh, "0");
    out.push_str("sum(&v0) * s + sum(&v1) * mean(&v2)\n}\n");
    out
}
