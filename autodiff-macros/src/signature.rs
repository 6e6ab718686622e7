//! The signature: what each parameter's gradient is, and the forms of
//! function that can be differentiated.

use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Type};

use crate::errors::Errors;

/// The signature must be that of a plain function we can copy: the generated
/// `_grad` takes the same parameters, and its gradient struct names them.
pub fn check(func: &ItemFn, errors: &mut Errors) {
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
    match &sig.output {
        ReturnType::Default => errors.spanned(
            &sig.ident,
            "a differentiable function must return a value, such as the loss: add `-> f64`",
        ),
        ReturnType::Type(_, ty) => check_output(ty, true, errors),
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) if r.reference.is_none() || r.mutability.is_some() || r.colon_token.is_some() => errors
                .spanned(
                    r,
                    "a differentiable method takes `&self`: the model is read, and its gradient returned",
                ),
            FnArg::Receiver(_) => {}
            FnArg::Typed(typed) => check_parameter_pattern(&typed.pat, errors),
        }
    }
}

/// The output is a float (`f32`, `f64`, `F: Float`), or for a module an
/// array or a tuple of them. Types that are certainly something else are
/// reported at the return type; other names (an alias of `f64`, an array
/// alias) are left to the compiler.
fn check_output(ty: &Type, top: bool, errors: &mut Errors) {
    const ACCEPTED: &str = "a differentiable function returns a float (`f32`, `f64`, or `F` with `F: Float`), an array, or a tuple of them";
    let refused = |what: &str| format!("{ACCEPTED}; {what}");
    match ungroup(ty) {
        Type::Tuple(t) if top && !t.elems.is_empty() => {
            for elem in &t.elems {
                check_output(elem, false, errors);
            }
        }
        Type::Tuple(t) if t.elems.is_empty() => errors.spanned(ty, refused("`()` carries no value: return the loss")),
        Type::Tuple(_) => errors.spanned(ty, refused("a tuple inside a tuple is not accepted: flatten it")),
        Type::Reference(_) => errors.spanned(
            ty,
            refused("a reference is not accepted: return the owned value (`Array2<f64>`, not `&Array2<f64>`)"),
        ),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else { return };
            let name = last.ident.to_string();
            let message = match name.as_str() {
                "Result" => Some(
                    "`Result` is not accepted: return the value itself, and report a mistake by panicking with a message (as the modules do)"
                        .to_string(),
                ),
                "Option" => Some("`Option` is not accepted: return the value itself".to_string()),
                "Vec" => Some(
                    "`Vec` is not accepted: return an array (`Array1<f64>`), or a tuple of up to four values".to_string(),
                ),
                "bool" | "char" | "str" | "String" | "usize" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
                | "i8" | "i16" | "i32" | "i64" | "i128" => {
                    Some(format!("`{name}` has no derivative: return a float or an array of floats"))
                }
                _ => None,
            };
            if let Some(message) = message {
                errors.spanned(ty, refused(&message));
            }
        }
        _ => {}
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

/// What a parameter's type says about differentiating it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Differentiability {
    /// `f32`, `f64`, an ndarray `Array*`, or a struct (assumed to derive `Params`).
    Yes,
    /// Integers, slices, strings, views...: data, never differentiated.
    No,
}

/// One parameter of the user's function (`self` for a method's receiver).
pub struct Param<'a> {
    pub ident: Ident,
    pub ty: &'a Type,
    /// The parameter is a reference (`x: &Array2<f64>`).
    pub is_ref: bool,
    /// Differentiated: a differentiable type, listed in `wrt(...)` (or `wrt` is absent).
    pub wrt: bool,
}

impl Param<'_> {
    /// The owned type of the gradient: the parameter's type without the `&`,
    /// and the owned array for a view (`ArrayView2<'a, F>`, `&ArrayRef2<F>`,
    /// `CowArray<'a, F, D>` → `Array2<F>`, `Array2<F>`, `Array<F, D>`).
    pub fn grad_type(&self) -> Type {
        let inner = match ungroup(self.ty) {
            Type::Reference(r) => ungroup(&r.elem),
            other => other,
        };
        owned_array(inner).unwrap_or_else(|| inner.clone())
    }
}

/// The owned array type of a view type, or `None` for any other type.
fn owned_array(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let name = last.ident.to_string();
    let owned = if name == "CowArray" {
        "Array".to_string()
    } else if let Some(rank) = name.strip_prefix("ArrayView").or_else(|| name.strip_prefix("ArrayRef")) {
        // Mutable views are not differentiable (see `differentiability`).
        if rank.starts_with("Mut") {
            return None;
        }
        format!("Array{rank}")
    } else {
        return None;
    };
    let mut path = p.clone();
    let segment = path.path.segments.last_mut()?;
    segment.ident = Ident::new(&owned, last.ident.span());
    // The owned array borrows nothing: drop the lifetime argument.
    if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
        args.args = args
            .args
            .iter()
            .filter(|a| !matches!(a, syn::GenericArgument::Lifetime(_)))
            .cloned()
            .collect();
    }
    Some(Type::Path(path))
}

/// The signature as the emitter needs it.
pub struct Signature<'a> {
    pub func: &'a ItemFn,
    pub params: Vec<Param<'a>>,
    /// The declared output is spelled `f32` or `f64`. Otherwise `NAME_grad` is
    /// generic over a bound that only scalars meet (an alias of `f64` does, an
    /// array does not, with a clear error where it is called).
    pub scalar_output: bool,
    /// A method with `&self`: parameter 0 is the receiver.
    pub is_method: bool,
}

/// Reads the signature and applies `wrt`. Reports a `wrt` name that is not a
/// parameter, and a parameter that cannot be differentiated but would be.
pub fn signature<'a>(func: &'a ItemFn, wrt: Option<&[Ident]>, errors: &mut Errors) -> Option<Signature<'a>> {
    let ReturnType::Type(_, output) = &func.sig.output else {
        return None; // reported by check
    };
    let mut params = Vec::new();
    let is_method = func.sig.receiver().is_some();
    for input in &func.sig.inputs {
        let typed = match input {
            FnArg::Receiver(r) => {
                let ident = Ident::new("self", r.self_token.span);
                let listed = wrt.is_none_or(|names| names.iter().any(|n| n == "self"));
                params.push(Param {
                    ident,
                    ty: &r.ty,
                    is_ref: true,
                    wrt: listed,
                });
                continue;
            }
            FnArg::Typed(typed) => typed,
        };
        let Pat::Ident(pat) = &*typed.pat else { return None };
        let ty = &*typed.ty;
        let differentiability = differentiability(ty);
        let listed = wrt.is_none_or(|names| names.iter().any(|n| n == &pat.ident));
        if listed && differentiability == Differentiability::No {
            let (what, advice) = if wrt.is_some() {
                ("is listed in `wrt`, but it", "remove it from `wrt(...)`")
            } else {
                (
                    "is differentiated by default, but it",
                    "name the parameters to differentiate with `#[differentiable(wrt(...))]`",
                )
            };
            let message = match ungroup(ty) {
                Type::Reference(r) if r.mutability.is_some() => format!(
                    "parameter `{}` {what} is a `&mut` reference: a differentiable function reads its parameters and returns new values; take it as `&{}`, or {advice}",
                    pat.ident,
                    type_text(&r.elem)
                ),
                _ => format!(
                    "parameter `{}` {what} has type `{}`, which cannot be differentiated; {advice}",
                    pat.ident,
                    type_text(ty)
                ),
            };
            errors.spanned(&typed.ty, message);
        }
        params.push(Param {
            ident: pat.ident.clone(),
            ty,
            is_ref: matches!(ungroup(ty), Type::Reference(_)),
            wrt: listed && differentiability == Differentiability::Yes,
        });
    }
    if let Some(names) = wrt {
        if names.is_empty() {
            errors.spanned(
                &func.sig.ident,
                "`wrt()` is empty: name at least one parameter to differentiate",
            );
        }
        for name in names {
            if !params.iter().any(|p| p.ident == *name) {
                let known: Vec<String> = params.iter().map(|p| format!("`{}`", p.ident)).collect();
                errors.spanned(
                    name,
                    format!(
                        "`{name}` is not a parameter of `{}`; its parameters are {}",
                        func.sig.ident,
                        known.join(", ")
                    ),
                );
            }
        }
    }
    // `f32`, `f64`, or a type parameter of the function (`-> F` with `F: Float`).
    let type_params: Vec<String> = func.sig.generics.type_params().map(|t| t.ident.to_string()).collect();
    let scalar_output = matches!(ungroup(output), Type::Path(p) if p.qself.is_none()
        && p.path.get_ident().is_some_and(|i| i == "f32" || i == "f64" || type_params.contains(&i.to_string())));
    Some(Signature {
        func,
        params,
        scalar_output,
        is_method,
    })
}

/// The type of the upstream gradient a VJP receives for an output of type
/// `output`: the output's own type, or for a tuple `(Option<A>, Option<B>, ..)`.
pub fn upstream_type(output: &Type) -> proc_macro2::TokenStream {
    match ungroup(output) {
        Type::Tuple(t) if !t.elems.is_empty() => {
            let elems = t.elems.iter();
            quote::quote!((#(::core::option::Option<#elems>,)*))
        }
        other => quote::quote!(#other),
    }
}

/// Decides from the type's spelling whether a parameter can be differentiated.
/// Struct types we don't know are assumed to be `Params` models; the compiler
/// checks that with a trait bound.
pub fn differentiability(ty: &Type) -> Differentiability {
    match ty {
        Type::Reference(r) if r.mutability.is_none() => differentiability(&r.elem),
        Type::Paren(p) => differentiability(&p.elem),
        Type::Group(g) => differentiability(&g.elem),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return Differentiability::No;
            };
            let name = last.ident.to_string();
            const DATA: &[&str] = &[
                "usize",
                "isize",
                "u8",
                "u16",
                "u32",
                "u64",
                "u128",
                "i8",
                "i16",
                "i32",
                "i64",
                "i128",
                "bool",
                "char",
                "str",
                "String",
                "Vec",
                "Option",
                "Box",
                "Rc",
                "Arc",
                "ArrayViewMut",
                "ArrayViewMut1",
                "ArrayViewMut2",
            ];
            if DATA.contains(&name.as_str()) || name.starts_with("ArrayViewMut") {
                return Differentiability::No;
            }
            // An array of integers or booleans (`Array1<usize>`) is data too.
            if name.starts_with("Array")
                && let syn::PathArguments::AngleBracketed(args) = &last.arguments
                && let Some(syn::GenericArgument::Type(Type::Path(elem))) = args.args.first()
                && elem
                    .path
                    .get_ident()
                    .is_some_and(|e| DATA.contains(&e.to_string().as_str()))
            {
                return Differentiability::No;
            }
            Differentiability::Yes
        }
        _ => Differentiability::No,
    }
}

/// The type inside invisible groups (`$t:ty` in a `macro_rules!`) and parentheses.
pub fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        other => other,
    }
}

/// `f32`, `f64` or an ndarray `Array*`: a type known to be `Debug + Clone`.
pub fn is_array_or_float(ty: &Type) -> bool {
    match ungroup(ty) {
        Type::Path(p) => p.path.segments.last().is_some_and(|last| {
            let name = last.ident.to_string();
            name == "f32" || name == "f64" || name.starts_with("Array")
        }),
        Type::Reference(r) => is_array_or_float(&r.elem),
        _ => false,
    }
}

/// A type as a user writes it: `&mut Array2<f64>`, `&'a [usize]` (tokens
/// joined, with a space between two words and after a lifetime).
fn type_text(ty: &Type) -> String {
    let spaced = quote::quote!(#ty).to_string();
    let mut out = String::new();
    let mut words = spaced.split(' ').peekable();
    while let Some(word) = words.next() {
        out.push_str(word);
        let word_char = |c: char| c.is_alphanumeric() || c == '_';
        let next_starts_word = words.peek().is_some_and(|n| n.starts_with(word_char));
        let ends_word = word.ends_with(word_char);
        if ends_word && (next_starts_word || word.starts_with('\'')) && words.peek().is_some() {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_parameter_types() {
        let yes: [Type; 9] = [
            syn::parse_quote!(ArrayView2<'a, f64>),
            syn::parse_quote!(&ArrayRef4<f32>),
            syn::parse_quote!(CowArray<'_, f64, Ix2>),
            syn::parse_quote!(f64),
            syn::parse_quote!(&f32),
            syn::parse_quote!(&Array2<f64>),
            syn::parse_quote!(ndarray::Array1<f32>),
            syn::parse_quote!(&Mlp),
            syn::parse_quote!(&ArrayD<f64>),
        ];
        for ty in &yes {
            assert_eq!(differentiability(ty), Differentiability::Yes, "{}", quote::quote!(#ty));
        }
        let no: [Type; 7] = [
            syn::parse_quote!(ArrayViewMut2<'a, f64>),
            syn::parse_quote!(&[usize]),
            syn::parse_quote!(usize),
            syn::parse_quote!(&Vec<f64>),
            syn::parse_quote!(&Array1<usize>),
            syn::parse_quote!(&mut Array2<f64>),
            syn::parse_quote!((f64, f64)),
        ];
        for ty in &no {
            assert_eq!(differentiability(ty), Differentiability::No, "{}", quote::quote!(#ty));
        }
    }

    #[test]
    fn the_gradient_of_a_view_is_the_owned_array() {
        let cases: [(Type, Type); 5] = [
            (syn::parse_quote!(ArrayView2<'a, f64>), syn::parse_quote!(Array2<f64>)),
            (syn::parse_quote!(&ArrayRef4<F>), syn::parse_quote!(Array4<F>)),
            (
                syn::parse_quote!(ndarray::CowArray<'_, f32, Ix3>),
                syn::parse_quote!(ndarray::Array<f32, Ix3>),
            ),
            (syn::parse_quote!(&ArrayView<'a, F, D>), syn::parse_quote!(Array<F, D>)),
            (syn::parse_quote!(&Array2<f64>), syn::parse_quote!(Array2<f64>)),
        ];
        for (ty, expected) in cases {
            let param = Param {
                ident: Ident::new("x", proc_macro2::Span::call_site()),
                ty: &ty,
                is_ref: true,
                wrt: true,
            };
            assert_eq!(param.grad_type(), expected, "{}", quote::quote!(#ty));
        }
    }
}
