//! The attribute's arguments: nothing, `wrt(a, b, ...)`, and `hvp` (also
//! generate the second-order functions).

use proc_macro2::TokenStream;
use syn::Ident;
use syn::parse::Parser;

/// The parsed arguments.
#[derive(Default, Debug)]
pub struct Args {
    /// `None` when `wrt` is absent (differentiate every parameter), else the
    /// listed names in order.
    pub wrt: Option<Vec<Ident>>,
    /// `hvp`: add `NAME_jvp`, `NAME_hvp` and the tangent functions of the
    /// module convention.
    pub hvp: bool,
}

/// Parses the attribute arguments.
pub fn parse(args: TokenStream) -> syn::Result<Args> {
    let mut wrt: Option<Vec<Ident>> = None;
    let mut hvp = false;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("hvp") {
            if hvp {
                return Err(meta.error("`hvp` is given twice"));
            }
            hvp = true;
            return Ok(());
        }
        if !meta.path.is_ident("wrt") {
            return Err(
                meta.error("unknown argument: expected `wrt(param, ...)`, the parameters to differentiate, or `hvp`")
            );
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
    Ok(Args { wrt, hvp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn accepts_nothing_or_a_list() {
        assert!(parse(quote!()).unwrap().wrt.is_none());
        let names = parse(quote!(wrt(w1, b1))).unwrap().wrt.unwrap();
        let both = parse(quote!(wrt(w1), hvp)).unwrap();
        assert!(both.hvp && both.wrt.is_some_and(|w| w.len() == 1));
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
