//! The entry point: runs the stages and turns any error into a compile error,
//! emitted beside the untouched function and stubs of the generated items.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::errors::Errors;
use crate::{activity, args, emit, hooks, lower, plan, reverse, signature};

pub fn differentiable(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                "`#[differentiable]` goes on a function: `#[differentiable] fn loss(...) -> f64 { ... }`",
            )
            .to_compile_error();
            return quote!(#item #error);
        }
    };
    let mut errors = Errors::default();
    let (wrt, hvp) = match args::parse(args) {
        Ok(args) => (Some(args.wrt), args.hvp),
        Err(e) => {
            errors.push(e);
            (None, false)
        }
    };
    signature::check(&func, &mut errors);
    // With malformed arguments, checking which parameters are differentiated
    // would only add noise: use `wrt` = every differentiable parameter quietly.
    let sig = match &wrt {
        Some(wrt) => signature::signature(&func, wrt.as_deref(), &mut errors),
        None => signature::signature(&func, None, &mut Errors::default()),
    };
    let result = match &sig {
        Some(sig) => expand(sig, hvp, errors),
        None => errors
            .finish()
            .and_then(|()| Err(syn::Error::new_spanned(&func.sig, "unsupported signature"))),
    };
    match result {
        Ok(tokens) => tokens,
        Err(error) => emit::fallback(&func, sig.as_ref(), error),
    }
}

/// The passes, with the IR verified after lowering.
fn expand(sig: &signature::Signature<'_>, hvp: bool, mut errors: Errors) -> syn::Result<TokenStream> {
    let internal = |stage: &str, message: String| {
        syn::Error::new_spanned(
            &sig.func.sig.ident,
            format!("internal error in `#[differentiable]` ({stage}): {message}; please report it"),
        )
    };
    let function = lower::lower(sig, &mut errors);
    let activity = activity::analyse(&function, sig, &mut errors);
    errors.finish()?;
    function.verify().map_err(|m| internal("lower", m))?;
    let program = reverse::reverse(&function, &activity);
    program.verify(&function).map_err(|m| internal("reverse", m))?;
    let plan = plan::plan(&function, &program);
    plan.verify(&program).map_err(|m| internal("plan", m))?;
    // The forward pass alone (`NAME_with`): the same steps, nothing saved.
    let forward = reverse::reverse(&function, &activity).forward_only();
    forward.verify(&function).map_err(|m| internal("reverse", m))?;
    let forward_plan = plan::plan(&function, &forward);
    forward_plan.verify(&forward).map_err(|m| internal("plan", m))?;
    let hooks = hooks::hooks(&function, sig, &program, &plan);
    let passes = emit::Passes {
        program: &program,
        plan: &plan,
        forward: &forward,
        forward_plan: &forward_plan,
    };
    Ok(emit::emit(sig, &function, passes, &hooks, &activity, hvp))
}

/// Expansion snapshots: each `tests/expand/NAME.rs` holds one annotated
/// function; its pretty-printed expansion must equal `NAME.expanded.rs`.
/// Regenerate with `AUTODIFF_BLESS=1 cargo test -p autodiff-macros`, and read the diff.
#[cfg(test)]
mod snapshots {
    use std::path::Path;

    fn expand_file(source: &str) -> String {
        let mut func: syn::ItemFn = syn::parse_str(source).expect("fixture parses");
        let attr = func.attrs.remove(0);
        let args = match attr.meta {
            syn::Meta::List(list) => list.tokens,
            _ => proc_macro2::TokenStream::new(),
        };
        let tokens = super::differentiable(args, quote::quote!(#func));
        let file: syn::File = syn::parse2(tokens).expect("expansion parses as a file");
        prettyplease::unparse(&file)
    }

    /// Prints the expansion of the function in the file `AUTODIFF_EXPAND`
    /// names: `AUTODIFF_EXPAND=f.rs cargo test -p autodiff-macros print_expansion -- --ignored --nocapture`.
    #[test]
    #[ignore = "a tool: prints the expansion of the file AUTODIFF_EXPAND names"]
    fn print_expansion() {
        let path =
            std::env::var("AUTODIFF_EXPAND").expect("AUTODIFF_EXPAND names a file holding one annotated function");
        println!("{}", expand_file(&std::fs::read_to_string(path).expect("readable")));
    }

    #[test]
    fn expansions_match_snapshots() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
        let bless = std::env::var_os("AUTODIFF_BLESS").is_some();
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("tests/expand exists") {
            let path = entry.expect("readable").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if !name.ends_with(".rs") || name.ends_with(".expanded.rs") {
                continue;
            }
            let expanded = expand_file(&std::fs::read_to_string(&path).expect("readable"));
            let snapshot = path.with_extension("expanded.rs");
            if bless {
                std::fs::write(&snapshot, &expanded).expect("writable");
            } else {
                let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
                assert_eq!(
                    expanded, expected,
                    "expansion of {name} changed; rerun with AUTODIFF_BLESS=1 and review the diff"
                );
            }
            checked += 1;
        }
        assert!(checked >= 2, "no fixtures found");
    }

    /// The expansion excerpts of the README, the design notes and the crate documentation
    /// are taken from the snapshots: each of their lines, without its
    /// trailing comment, is one of the snapshot's (`...` stands for lines
    /// left out).
    #[test]
    fn documented_excerpts_are_in_the_snapshot() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let root = here.parent().expect("the workspace root");
        let readme = read(&root.join("README.md"));
        let design = read(&root.join("docs/design.md"));
        let crate_doc: String = read(&root.join("src/lib.rs"))
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
            .collect();
        for (name, text, heading, fixture) in [
            (
                "README.md",
                readme.as_str(),
                "### What the expansion looks like",
                "mlp_loss",
            ),
            ("docs/design.md", design.as_str(), "An Elman RNN (", "rnn_loop"),
            (
                "src/lib.rs",
                crate_doc.as_str(),
                "# Explanation: what the expansion looks like",
                "mlp_loss",
            ),
        ] {
            let snapshot = read(&here.join(format!("tests/expand/{fixture}.expanded.rs")));
            let lines: std::collections::HashSet<&str> = snapshot.lines().map(str::trim).collect();
            let excerpt = text
                .split(heading)
                .nth(1)
                .and_then(|rest| rest.split("```text\n").nth(1))
                .and_then(|block| block.split("```").next())
                .unwrap_or_else(|| panic!("{name} has an expansion excerpt after {heading:?}"));
            let mut shown = 0;
            for line in excerpt.lines() {
                let code = line.split("//").next().unwrap_or_default().trim();
                if code.is_empty() || code == "..." {
                    continue;
                }
                assert!(
                    lines.contains(code),
                    "{name} shows `{code}`, which {fixture}.expanded.rs does not contain"
                );
                shown += 1;
            }
            assert!(shown >= 10, "{name}: the excerpt has {shown} lines of code");
        }
    }
}

/// The macro must never panic: odd inputs get errors, not crashes, and the
/// output always parses.
#[cfg(test)]
mod robustness {
    use quote::quote;

    #[test]
    fn never_panics_and_always_emits_parseable_code() {
        let cases = [
            quote!(
                fn f() -> f64 {
                    1.0
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
            quote!(
                fn f(x: &Array1<f64>) -> Array1<f64> {
                    x
                }
            ),
            quote!(
                fn f(x: f64) {}
            ),
            quote!(
                fn f(x: f64) -> f64 {}
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let y = x;
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let (a, b) = x;
                    a
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let ((a, b), c) = g(x);
                    a
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let (a, b) = g(x);
                    let (c, d) = g(a);
                    c * d + b
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let _ = g(x);
                    let _unused = x;
                    x
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let y: f64 = x * 2.0;
                    y
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    (x).y.z
                }
            ),
            quote!(
                fn f(m: &Mlp) -> f64 {
                    let a = m.w;
                    let b = m.w;
                    sum(&a) + sum(&b)
                }
            ),
            quote!(
                fn f(m: &Mlp) -> f64 {
                    m.0
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    g::<f64>(x)
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    (g)(x)
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    <f64 as Foo>::bar(x)
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    x.0
                }
            ),
            quote!(
                fn f((a, b): (f64, f64)) -> f64 {
                    a
                }
            ),
            quote!(
                fn f(x: f64, x: f64) -> f64 {
                    x
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let x = x;
                    let x = x;
                    x
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    return x;
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    x;
                    x
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    *x + !x - &mut x
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    1.0 + 2.0 * 3.0
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    -(-(x))
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    async { x }.await
                }
            ),
            quote!(
                fn r#loop(r#in: f64) -> f64 {
                    r#in
                }
            ),
            quote!(
                fn __(x: f64) -> f64 {
                    x
                }
            ),
            quote!(
                fn f<'a>(x: &'a Array1<f64>) -> f64 {
                    sum(x)
                }
            ),
            quote!(
                fn f(x: impl Fn()) -> f64 {
                    1.0
                }
            ),
            quote!(
                fn f(x: &mut Array1<f64>) -> f64 {
                    sum(x)
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let mut h = x;
                    for i in 0..3 {
                        if i == 1 {
                            continue;
                        }
                        h = h * x;
                        while h > 1.0 {
                            h = h * 0.5;
                            break;
                        }
                    }
                    h
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    'a: loop {
                        loop {
                            break 'a;
                        }
                    }
                    match 1 {
                        0 => return x,
                        _ => {}
                    }
                    x
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    break;
                    continue 'nowhere;
                    return;
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let y = if x > 0.0 {
                        x
                    } else if x < 0.0 {
                        -x
                    };
                    let z = match x {
                        _ if x > 1.0 => x,
                    };
                    let w = loop {
                        break x;
                    };
                    y + z + w
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let (mut a, b) = duplicate(&x);
                    a = b;
                    let [c, d] = [x, x];
                    x.0 = 1.0;
                    *x += 1.0;
                    a
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    for x in x {}
                    let g = |y| x + y;
                    g(x)
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    if let Some(y) = x {}
                    while let Some(y) = x {}
                    return x;
                    x
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let mut h = x;
                    {
                        h = h * 2.0;
                    }
                    h
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    if x > 0.0 {
                        return x;
                    } else {
                        return -x;
                    }
                }
            ),
            quote!(
                struct S;
            ),
            quote!(),
            quote!(fn),
        ];
        let args = [
            quote!(),
            quote!(wrt(x)),
            quote!(wrt()),
            quote!(wrt(x, y)),
            quote!(wrt),
            quote!(wrt = x),
            quote!(1 + 2),
        ];
        for case in &cases {
            for arg in &args {
                let out = super::differentiable(arg.clone(), case.clone());
                assert!(
                    syn::parse2::<syn::File>(out.clone()).is_ok()
                        || case.is_empty()
                        || case.to_string() == "fn"
                        || case.to_string().starts_with("struct"),
                    "unparseable output for {case} with ({arg}): {out}"
                );
            }
        }
    }
}

/// Users' compile times: a long function must expand quickly. This prints the
/// time for a 500-statement body (see it with `--nocapture`); like every
/// timing here it is reported, not asserted. It checks that the expansion is
/// complete: one VJP call per statement.
#[cfg(test)]
mod scale {
    use std::time::Instant;

    #[test]
    fn expands_a_500_statement_function() {
        let mut body = String::from("let h0 = linear(x, w, b);\n");
        for i in 1..500 {
            // A mix of modules, operators and fan-out.
            let line = match i % 4 {
                0 => format!("let h{i} = relu(&h{});\n", i - 1),
                1 => format!("let h{i} = &h{} + &h{};\n", i - 1, i / 2),
                2 => format!("let h{i} = tanh(&h{}) * 0.5;\n", i - 1),
                _ => format!("let h{i} = max(&h{}, &h{});\n", i - 1, i - 3),
            };
            body.push_str(&line);
        }
        let source =
            format!("fn long(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {{ {body} sum(&h499) }}");
        let func: proc_macro2::TokenStream = source.parse().expect("valid tokens");
        let started = Instant::now();
        let out = super::differentiable(quote::quote!(wrt(w, b)), func);
        let elapsed = started.elapsed();
        let file: syn::File = syn::parse2(out.clone()).expect("expansion parses");
        let text = out.to_string();
        // 500 statements, some with two calls (`tanh(..) * 0.5`), plus the sum.
        let vjp_calls = text.matches("_vjp (").count();
        assert!(vjp_calls >= 500, "{vjp_calls} VJP calls");
        assert_eq!(
            file.items.len(),
            10,
            "the function, NameGrad, NAME_GRAD_SOURCE, NAME_GRAPHS, _grad, _grad_with, _with, _vjp and the two tangent stubs"
        );
        println!(
            "expanded a 500-statement function in {:.1} ms",
            elapsed.as_secs_f64() * 1e3
        );
    }

    fn rnn_with_bound(bound: &str) -> String {
        let source = format!(
            "fn f(xs: &[Array2<f64>], w: &Array2<f64>, u: &Array2<f64>) -> f64 {{
                let mut h = matmul(&xs[0], w);
                for t in 1..{bound} {{ h = tanh(&(matmul(&xs[t], w) + matmul(&h, u))); }}
                sum(&h)
            }}"
        );
        let func: proc_macro2::TokenStream = source.parse().expect("valid tokens");
        super::differentiable(quote::quote!(wrt(w, u)), func).to_string()
    }

    /// A loop is reversed as a loop: its expansion is the size of its body,
    /// whatever the trip count, and each call in the body has one VJP call.
    #[test]
    fn loops_are_not_unrolled() {
        let three = rnn_with_bound("3");
        let many = rnn_with_bound("3000");
        assert_eq!(three, many.replace("3000", "3"), "only the bound differs");
        // Forward calls: matmul ×3, add, tanh, sum; in `_grad` and `_vjp`.
        let calls = three.matches("_vjp (").count() - three.matches("fn f_vjp (").count();
        assert_eq!(calls, 2 * 6, "{three}");
    }

    /// Users' compile times with control flow: a body of nested loops and
    /// branches (reported, not asserted, like every timing here).
    #[test]
    fn expands_nested_loops_and_branches() {
        let mut body = String::from("let mut h = linear(x, w, b);\n");
        for i in 0..40 {
            body.push_str(&format!(
                "for i in 0..n {{ for j in 0..i {{ if mean(&h) > {i}.0 {{ h = relu(&h); }} else {{ h = tanh(&h) * 0.5; }} if j == 3 {{ break; }} }} h = &h + &max(&h, &sigmoid(&h)); }}\n"
            ));
        }
        let source = format!(
            "fn nested(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>, n: usize) -> f64 {{ {body} sum(&h) }}"
        );
        let func: proc_macro2::TokenStream = source.parse().expect("valid tokens");
        let started = Instant::now();
        let out = super::differentiable(quote::quote!(wrt(w, b)), func);
        let elapsed = started.elapsed();
        syn::parse2::<syn::File>(out.clone()).expect("expansion parses");
        let text = out.to_string();
        assert!(text.matches("tanh_vjp (").count() >= 80);
        println!(
            "expanded 80 nested loops with 80 branches in {:.1} ms",
            elapsed.as_secs_f64() * 1e3
        );
    }
}

/// Prints the expansion of the file named by `AUTODIFF_EXPAND` (a function
/// with its attribute): `AUTODIFF_EXPAND=f.rs cargo test -p autodiff-macros
/// print_expansion -- --ignored --nocapture`. For debugging the macro.
#[cfg(test)]
#[test]
#[ignore]
fn print_expansion() {
    let path = std::env::var("AUTODIFF_EXPAND").expect("AUTODIFF_EXPAND names a file");
    let source = std::fs::read_to_string(path).expect("readable");
    let mut func: syn::ItemFn = syn::parse_str(&source).expect("a function");
    let attr = func.attrs.remove(0);
    let args = match attr.meta {
        syn::Meta::List(list) => list.tokens,
        _ => TokenStream::new(),
    };
    let tokens = differentiable(args, quote!(#func));
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => println!("{}", prettyplease::unparse(&file)),
        Err(_) => println!("{tokens}"),
    }
}
