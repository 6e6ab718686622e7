//! The attribute's arguments: nothing, or `wrt(a, b, ...)`.

use proc_macro2::TokenStream;
use syn::Ident;
use syn::parse::Parser;

/// Parses the attribute arguments: `None` when `wrt` is absent (differentiate
/// every parameter), else the listed names in order.
pub fn parse(args: TokenStream) -> syn::Result<Option<Vec<Ident>>> {
    let mut wrt: Option<Vec<Ident>> = None;
    let parser = syn::meta::parser(|meta| {
        if !meta.path.is_ident("wrt") {
            return Err(meta.error("unknown argument: expected `wrt(param, ...)`, the parameters to differentiate"));
        }
        if wrt.is_some() {
            return Err(meta.error("`wrt` is given twice: list every parameter in one `wrt(...)`"));
        }
        let mut names: Vec<Ident> = Vec::new();
        meta.parse_nested_meta(|inner| {
            let Some(name) = inner.path.get_ident() else {
                return Err(inner.error("expected a parameter name"));
            };
            if names.iter().any(|n| n == name) {
                return Err(inner.error(format!("`{name}` is listed twice in `wrt`")));
            }
            names.push(name.clone());
            Ok(())
        })?;
        wrt = Some(names);
        Ok(())
    });
    parser.parse2(args)?;
    Ok(wrt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn accepts_nothing_or_a_list() {
        assert!(parse(quote!()).unwrap().is_none());
        let names = parse(quote!(wrt(w1, b1))).unwrap().unwrap();
        assert_eq!(names.iter().map(|n| n.to_string()).collect::<Vec<_>>(), ["w1", "b1"]);
    }

    #[test]
    fn rejects_unknown_keys_and_repeats() {
        assert!(
            parse(quote!(with(w)))
                .unwrap_err()
                .to_string()
                .contains("unknown argument")
        );
        assert!(
            parse(quote!(wrt(w, w)))
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
        assert!(
            parse(quote!(wrt(a::b)))
                .unwrap_err()
                .to_string()
                .contains("parameter name")
        );
    }
}
