//! The entry point: runs the stages and turns any error into a compile error,
//! emitted beside the untouched function and stubs of the generated items.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::errors::Errors;
use crate::reverse::Mode;
use crate::{args, check, emit, graph, parse, reverse};

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
    let wrt = match args::parse(args) {
        Ok(wrt) => Some(wrt),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    check::function(&func, &mut errors);
    // With malformed arguments, checking which parameters are differentiated
    // would only add noise: use `wrt` = every differentiable parameter quietly.
    let sig = match &wrt {
        Some(wrt) => parse::signature(&func, wrt.as_deref(), &mut errors),
        None => parse::signature(&func, None, &mut Errors::default()),
    };
    let result = errors.finish().and_then(|()| {
        let sig = sig.as_ref().ok_or_else(|| syn::Error::new_spanned(&func.sig, "unsupported signature"))?;
        expand(sig)
    });
    match result {
        Ok(tokens) => tokens,
        Err(error) => emit::fallback(&func, sig.as_ref(), error),
    }
}

fn expand(sig: &parse::Signature<'_>) -> syn::Result<TokenStream> {
    let internal = |stage: &str, message: String| {
        syn::Error::new_spanned(&sig.func.sig.ident, format!("internal error in `#[differentiable]` ({stage}): {message}; please report it"))
    };
    let body = parse::body(sig.func)?;
    let graph = graph::build(sig, &body)?;
    graph.validate().map_err(|m| internal("graph", m))?;
    let grad = reverse::reverse(&graph, sig, Mode::Grad).map_err(|m| internal("reverse", m))?;
    let vjp = reverse::reverse(&graph, sig, Mode::Vjp).map_err(|m| internal("reverse", m))?;
    Ok(emit::emit(sig, &graph, &grad, &vjp))
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

    #[test]
    fn expansions_match_snapshots() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
        let bless = std::env::var_os("AUTODIFF_BLESS").is_some();
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("tests/expand exists") {
            let path = entry.expect("readable").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if !name.ends_with(".rs") || name.ends_with(".expanded.rs") {
                continue;
            }
            let expanded = expand_file(&std::fs::read_to_string(&path).expect("readable"));
            let snapshot = path.with_extension("expanded.rs");
            if bless {
                std::fs::write(&snapshot, &expanded).expect("writable");
            } else {
                let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
                assert_eq!(expanded, expected, "expansion of {name} changed; rerun with AUTODIFF_BLESS=1 and review the diff");
            }
            checked += 1;
        }
        assert!(checked >= 2, "no fixtures found");
    }
}
