//! `module!`: a module declared once. From the forward function, one gradient
//! line per differentiable input and a list of gradient-check cases, it
//! derives the `NAME_vjp` of the module convention (its signature, the `need`
//! mask, the `Option` slots and `NoGrad` for constant inputs), a rustdoc
//! section naming the differentiable inputs, and tests: finite differences for
//! every case, each gradient alone equal to all of them together, and f32
//! against f64.
//!
//! ```text
//! module! {
//!     /// docs
//!     pub fn name<F: Float>(x: &ArrayRef2<F>, k: usize) -> Array2<F> { forward }
//!     /// docs of the VJP (optional)
//!     backward(y, g, need) {
//!         statements;                      // any Rust, before and after
//!         grad x = expression;             // or `grad x: Type = expression;`
//!     }
//!     tangent linear;                      // optional: the rules of `hvp`, or
//!     // tangent(y) { ẏ from x_t }  backward_tangent(y, y_t, g, g_t, need) { grad x = ..; }
//!     gradcheck {
//!         x: random([3, 4]), k: 2;         // one case per `;`
//!     }
//! }
//! ```
//!
//! With tangent rules it also derives `NAME_tangent` and `NAME_vjp_tangent`
//! (and a test of both against finite differences); without them, stubs whose
//! call from an `hvp` function is one error naming the module.
//!
//! The first token is the path of the runtime crate (`$crate`, passed by the
//! runtime's `module!` wrapper), so the expansion works inside the runtime and
//! in users' crates alike.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, FnArg, Ident, ItemFn, Pat, Stmt, Token, Type, braced, parenthesized};

/// One line of the backward block: a gradient or an ordinary statement.
#[allow(clippy::large_enum_variant)] // a handful per declaration
enum Line {
    Grad { name: Ident, ty: Option<Type>, value: Expr },
    Stmt(Stmt),
}

struct Backward {
    attrs: Vec<Attribute>,
    y: Ident,
    g: Ident,
    need: Ident,
    lines: Vec<Line>,
}

/// The tangent rules (for the `hvp` functions): none, `tangent linear;`
/// (the module is linear in its one differentiable input: its tangent is
/// the forward of the tangent, its VJP's tangent the VJP of the upstream
/// gradient's tangent), or the two rules written out.
#[allow(clippy::large_enum_variant)] // one per declaration
enum Tangent {
    None,
    Linear(Span),
    Rules {
        y: Ident,
        forward: TokenStream,
        backward: Backward,
        /// `backward_tangent(y, y_t, g, g_t, need)`: the tangents' names.
        y_t: Ident,
        g_t: Ident,
    },
}

struct Case {
    span: Span,
    values: Vec<(Ident, Expr)>,
}

struct Declaration {
    krate: TokenStream,
    forward: ItemFn,
    backward: Backward,
    tangent: Tangent,
    cases: Vec<Case>,
    gradcheck_span: Span,
}

fn keyword(input: ParseStream, word: &str) -> syn::Result<Ident> {
    let ident: Ident = input.parse()?;
    if ident != word {
        return Err(syn::Error::new(
            ident.span(),
            format!("module!: expected `{word}` here"),
        ));
    }
    Ok(ident)
}

impl Parse for Declaration {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // `$crate` arrives as one ident; a user's direct call may pass a path.
        let mut krate = TokenStream::new();
        while !input.peek(Token![;]) {
            let tt: proc_macro2::TokenTree = input.parse()?;
            krate.extend([tt]);
        }
        input.parse::<Token![;]>()?;
        let forward: ItemFn = input.parse()?;
        let attrs = input.call(Attribute::parse_outer)?;
        keyword(input, "backward")?;
        let names;
        parenthesized!(names in input);
        let names: Punctuated<Ident, Token![,]> = names.parse_terminated(Ident::parse, Token![,])?;
        let [y, g, need]: [Ident; 3] = names.into_iter().collect::<Vec<_>>().try_into().map_err(|_| {
            input.error(
                "module!: `backward` names three things: `backward(y, g, need)` (the output, its gradient, the flags)",
            )
        })?;
        let lines = grad_lines(input)?;
        let tangent = parse_tangent(input)?;
        let gradcheck = keyword(input, "gradcheck")?;
        let cases_tokens;
        braced!(cases_tokens in input);
        let mut cases = Vec::new();
        while !cases_tokens.is_empty() {
            let span = cases_tokens.span();
            let mut values = Vec::new();
            while !cases_tokens.is_empty() && !cases_tokens.peek(Token![;]) {
                let name: Ident = cases_tokens.parse()?;
                cases_tokens.parse::<Token![:]>()?;
                let value: Expr = cases_tokens.parse()?;
                values.push((name, value));
                if !cases_tokens.peek(Token![;]) && !cases_tokens.is_empty() {
                    cases_tokens.parse::<Token![,]>()?;
                }
            }
            if !cases_tokens.is_empty() {
                cases_tokens.parse::<Token![;]>()?;
            }
            cases.push(Case { span, values });
        }
        if !input.is_empty() {
            return Err(input.error("module!: nothing may follow the `gradcheck` block"));
        }
        Ok(Declaration {
            krate,
            forward,
            tangent,
            backward: Backward {
                attrs,
                y,
                g,
                need,
                lines,
            },
            cases,
            gradcheck_span: gradcheck.span(),
        })
    }
}

/// A braced block of `grad NAME = value;` lines and ordinary statements.
fn grad_lines(input: ParseStream) -> syn::Result<Vec<Line>> {
    let body;
    braced!(body in input);
    let mut lines = Vec::new();
    while !body.is_empty() {
        if body.peek(Ident) && body.peek2(Ident) && body.fork().parse::<Ident>().is_ok_and(|i| i == "grad") {
            body.parse::<Ident>()?;
            let name: Ident = body.parse()?;
            let ty = if body.peek(Token![:]) {
                body.parse::<Token![:]>()?;
                Some(body.parse()?)
            } else {
                None
            };
            body.parse::<Token![=]>()?;
            let value: Expr = body.parse()?;
            body.parse::<Token![;]>()?;
            lines.push(Line::Grad { name, ty, value });
        } else {
            lines.push(Line::Stmt(body.parse()?));
        }
    }
    Ok(lines)
}

/// `tangent linear;`, or `tangent(y) { .. } backward_tangent(y, y_t, g, g_t, need) { .. }`,
/// or nothing.
fn parse_tangent(input: ParseStream) -> syn::Result<Tangent> {
    let fork = input.fork();
    let _ = fork.call(Attribute::parse_outer);
    if !fork.parse::<Ident>().is_ok_and(|i| i == "tangent") {
        return Ok(Tangent::None);
    }
    // The rules' docs: they document the tangent functions' source only.
    let _docs = input.call(Attribute::parse_outer)?;
    let word = keyword(input, "tangent")?;
    if input.peek(Ident) {
        let kind: Ident = input.parse()?;
        if kind != "linear" {
            return Err(syn::Error::new(
                kind.span(),
                "module!: expected `tangent linear;` or `tangent(y) { .. }`",
            ));
        }
        input.parse::<Token![;]>()?;
        return Ok(Tangent::Linear(word.span()));
    }
    let names;
    parenthesized!(names in input);
    let y: Ident = names.parse()?;
    let body;
    braced!(body in input);
    let forward: TokenStream = body.parse()?;
    let attrs = input.call(Attribute::parse_outer)?;
    keyword(input, "backward_tangent")?;
    let names;
    parenthesized!(names in input);
    let names: Punctuated<Ident, Token![,]> = names.parse_terminated(Ident::parse, Token![,])?;
    let [by, y_t, g, g_t, need]: [Ident; 5] = names.into_iter().collect::<Vec<_>>().try_into().map_err(|_| {
        input.error(
            "module!: `backward_tangent` names five things: `backward_tangent(y, y_t, g, g_t, need)` (the output and its tangent, the upstream gradient and its tangent, the flags)",
        )
    })?;
    let lines = grad_lines(input)?;
    Ok(Tangent::Rules {
        y,
        forward,
        backward: Backward {
            attrs,
            y: by,
            g,
            need,
            lines,
        },
        y_t,
        g_t,
    })
}

/// Whether `tokens` name `ident` anywhere, inside groups too.
fn mentions(tokens: TokenStream, ident: &Ident) -> bool {
    tokens.into_iter().any(|tt| match tt {
        proc_macro2::TokenTree::Ident(i) => i == *ident,
        proc_macro2::TokenTree::Group(g) => mentions(g.stream(), ident),
        _ => false,
    })
}

/// A forward parameter: its name and type.
struct Param {
    name: Ident,
    ty: Type,
}

fn params(forward: &ItemFn, errors: &mut Vec<syn::Error>) -> Vec<Param> {
    let mut out = Vec::new();
    for input in &forward.sig.inputs {
        match input {
            FnArg::Receiver(r) => errors.push(syn::Error::new(
                r.span(),
                "module!: a module is a free function; `self` is not an input",
            )),
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => out.push(Param {
                    name: p.ident.clone(),
                    ty: (*t.ty).clone(),
                }),
                other => errors.push(syn::Error::new(
                    other.span(),
                    "module!: each input is a plain name (`x: &ArrayRef2<F>`), so that gradients can name it",
                )),
            },
        }
    }
    out
}

/// The owned gradient type of a parameter type: `&ArrayRef<E, D>` → `Array<E, D>`,
/// `&ArrayRefN<E>` → `ArrayN<E>`, `&T` → `T`, `T` → `T`.
fn gradient_type(krate: &TokenStream, ty: &Type) -> Type {
    let inner = match ty {
        Type::Reference(r) => &*r.elem,
        other => other,
    };
    if let Type::Path(p) = inner
        && p.qself.is_none()
        && let Some(last) = p.path.segments.last()
    {
        let name = last.ident.to_string();
        if let Some(rank) = name.strip_prefix("ArrayRef") {
            let owned = format_ident!("Array{}", rank, span = last.ident.span());
            let args = &last.arguments;
            return syn::parse_quote!(#krate::__private::ndarray::#owned #args);
        }
    }
    inner.clone()
}

pub fn expand(input: TokenStream) -> TokenStream {
    let declaration: Declaration = match syn::parse2(input) {
        Ok(d) => d,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Vec::new();
    let tokens = generate(&declaration, &mut errors);
    match errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    }) {
        Some(e) => {
            // The forward function still compiles, so that its own errors and
            // uses are reported as well.
            let forward = &declaration.forward;
            let e = e.to_compile_error();
            quote!(#forward #e)
        }
        None => tokens,
    }
}

fn generate(d: &Declaration, errors: &mut Vec<syn::Error>) -> TokenStream {
    let krate = &d.krate;
    let forward = &d.forward;
    let params = params(forward, errors);
    let name = &forward.sig.ident;
    let name_str = name.to_string();
    let vjp = format_ident!("{}_vjp", name);
    let Backward {
        attrs: vjp_attrs,
        y,
        g,
        need,
        lines,
    } = &d.backward;

    // Which inputs are differentiable: those with a `grad` line.
    let mut grads: Vec<Option<Type>> = vec![None; params.len()];
    for line in lines {
        let Line::Grad { name: gname, ty, .. } = line else {
            continue;
        };
        match params.iter().position(|p| p.name == *gname) {
            None => errors.push(syn::Error::new(
                gname.span(),
                format!("module!: `{name_str}` has no input named `{gname}`"),
            )),
            Some(i) if grads[i].is_some() => errors.push(syn::Error::new(
                gname.span(),
                format!("module!: the gradient of `{gname}` is given twice"),
            )),
            Some(i) => {
                grads[i] = Some(ty.clone().unwrap_or_else(|| gradient_type(krate, &params[i].ty)));
            }
        }
    }
    if grads.iter().all(Option::is_none) {
        errors.push(syn::Error::new(
            y.span(),
            format!("module!: `{name_str}` declares no gradient; add `grad INPUT = ...;` to `backward`"),
        ));
    }
    if d.cases.is_empty() {
        errors.push(syn::Error::new(
            d.gradcheck_span,
            format!("module!: `{name_str}` needs at least one gradcheck case: a module without one is not trusted"),
        ));
    }
    for case in &d.cases {
        for p in &params {
            if !case.values.iter().any(|(n, _)| *n == p.name) {
                errors.push(syn::Error::new(
                    case.span,
                    format!("module!: this gradcheck case gives no value for `{}`", p.name),
                ));
            }
        }
        for (n, _) in &case.values {
            if !params.iter().any(|p| p.name == *n) {
                errors.push(syn::Error::new(
                    n.span(),
                    format!("module!: `{name_str}` has no input named `{n}`"),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return TokenStream::new();
    }

    let output = match &forward.sig.output {
        syn::ReturnType::Type(_, t) => (**t).clone(),
        syn::ReturnType::Default => {
            errors.push(syn::Error::new(
                forward.sig.ident.span(),
                "module!: a module returns its output",
            ));
            return TokenStream::new();
        }
    };

    // The VJP. A module with several outputs receives one `Option` per
    // output: `None` for an output nothing used.
    let upstream = crate::signature::upstream_type(&output);
    let vis = &forward.vis;
    let generics = &forward.sig.generics;
    let where_clause = &generics.where_clause;
    let n = params.len();
    let param_decls = params.iter().map(|p| {
        let (pn, pt) = (&p.name, &p.ty);
        quote!(#pn: #pt)
    });
    let slot_types = grads.iter().map(|slot| match slot {
        Some(t) => quote!(::core::option::Option<#t>),
        None => quote!(::core::option::Option<#krate::NoGrad>),
    });
    let diff_names: Vec<&Ident> = params
        .iter()
        .zip(&grads)
        .filter(|(_, s)| s.is_some())
        .map(|(p, _)| &p.name)
        .collect();
    let need_fields: Vec<&Ident> = params.iter().map(|p| &p.name).collect();
    let need_values = (0..n).map(|i| quote!(__need[#i]));
    let body = lines.iter().map(|line| match line {
        Line::Stmt(s) => quote!(#s),
        Line::Grad { name: gname, value, .. } => {
            let local = format_ident!("__grad_{}", gname);
            let i = params.iter().position(|p| p.name == *gname).unwrap_or(0);
            let ty = grads[i].as_ref();
            quote! {
                let #local: ::core::option::Option<#ty> =
                    if #need.#gname { ::core::option::Option::Some(#value) } else { ::core::option::Option::None };
            }
        }
    });
    let results = params.iter().zip(&grads).map(|(p, slot)| match slot {
        Some(_) => {
            let local = format_ident!("__grad_{}", p.name);
            quote!(#local)
        }
        None => quote!(::core::option::Option::None),
    });
    let list = |names: &[&Ident]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let constants: Vec<&Ident> = params
        .iter()
        .zip(&grads)
        .filter(|(_, s)| s.is_none())
        .map(|(p, _)| &p.name)
        .collect();
    let mut inputs_doc = format!(" Differentiable inputs: {}", list(&diff_names));
    if !constants.is_empty() {
        inputs_doc += &format!("; constant inputs: {}", list(&constants));
    }
    inputs_doc += &format!(". Its vector-Jacobian product is [`{vjp}`].");
    let vjp_doc = format!(
        " The vector-Jacobian product of [`{name}`]: given the forward's inputs, its output `{y}` and the \
         upstream gradient `{g}`, the gradient of each input whose flag in `{need}` is set (the module \
         convention of `autodiff::modules`).",
    );
    let fn_attrs = &forward.attrs;
    let fn_sig = &forward.sig;
    let fn_block = &forward.block;
    let need_struct = format_ident!("__{}Need", name_str.replace('_', ""));

    let tests = tests(d, &params, &grads);
    let tangent = tangent_items(
        d,
        &params,
        &grads,
        &output,
        &upstream,
        &slot_types_of(krate, &grads),
        errors,
    );

    quote! {
        #(#fn_attrs)*
        ///
        #[doc = #inputs_doc]
        #vis #fn_sig #fn_block

        #[doc = #vjp_doc]
        ///
        #(#vjp_attrs)*
        #[allow(clippy::too_many_arguments, unused_variables)]
        #vis fn #vjp #generics (
            #(#param_decls,)*
            #y: &#output,
            #g: #upstream,
            __need: [bool; #n],
        ) -> (#(#slot_types,)*) #where_clause {
            #[allow(dead_code, non_camel_case_types)]
            struct #need_struct { #(#need_fields: bool,)* }
            let #need = #need_struct { #(#need_fields: #need_values,)* };
            #(#body)*
            (#(#results,)*)
        }

        #tangent

        #tests
    }
}

fn slot_types_of(krate: &TokenStream, grads: &[Option<Type>]) -> Vec<TokenStream> {
    grads
        .iter()
        .map(|slot| match slot {
            Some(t) => quote!(::core::option::Option<#t>),
            None => quote!(::core::option::Option<#krate::NoGrad>),
        })
        .collect()
}

/// `NAME_tangent` (the JVP of the forward) and `NAME_vjp_tangent` (the VJP
/// and its JVP), the module convention of the `hvp` functions: each takes
/// the inputs' tangents as a tuple with one `Option` per input (`None`:
/// zero, or a constant input).
fn tangent_items(
    d: &Declaration,
    params: &[Param],
    grads: &[Option<Type>],
    output: &Type,
    upstream: &TokenStream,
    slot_types: &[TokenStream],
    errors: &mut Vec<syn::Error>,
) -> TokenStream {
    let krate = &d.krate;
    let forward = &d.forward;
    let name = &forward.sig.ident;
    let name_str = name.to_string();
    let (vjp, tangent_fn, vjp_tangent_fn) = (
        format_ident!("{}_vjp", name),
        format_ident!("{}_tangent", name),
        format_ident!("{}_vjp_tangent", name),
    );
    let vis = &forward.vis;
    let generics = &forward.sig.generics;
    let where_clause = &generics.where_clause;
    let n = params.len();
    let param_decls: Vec<TokenStream> = params
        .iter()
        .map(|p| {
            let (pn, pt) = (&p.name, &p.ty);
            quote!(#pn: #pt)
        })
        .collect();
    let tangent_types = params.iter().zip(grads).map(|(p, g)| match g {
        Some(_) => {
            let ty = &p.ty;
            quote!(::core::option::Option<#ty>)
        }
        None => quote!(::core::option::Option<#krate::NoGrad>),
    });
    let tangent_types: Vec<TokenStream> = tangent_types.collect();
    // Each input as the forward takes it, passed on again.
    let pass = |p: &Param| {
        let pn = &p.name;
        match &p.ty {
            Type::Reference(_) => quote!(#pn),
            _ => quote!(::core::clone::Clone::clone(&#pn)),
        }
    };
    let args: Vec<TokenStream> = params.iter().map(pass).collect();
    let nones: Vec<TokenStream> = params.iter().map(|_| quote!(::core::option::Option::None)).collect();
    let tangent_doc =
        format!(" The tangent of [`{name}`]'s output given its inputs' tangents (a JVP), for `hvp` functions.");
    let vjp_tangent_doc = format!(
        " [`{vjp}`] and its tangent given the inputs' and the upstream gradient's tangents, for `hvp` functions."
    );
    let (forward_body, backward_body) = match &d.tangent {
        Tangent::None => {
            // Stubs whose tangent tuple must meet a bound nothing meets: a
            // function with `hvp` that calls the module gets one error
            // naming it, and its types still check.
            let marker = format_ident!("__{}HasNoTangentRule", name_str.replace('_', ""));
            let message =
                format!("`{name_str}` has no tangent rule, so a `#[differentiable(.., hvp)]` function cannot call it");
            let note = format!(
                "only modules that declare `tangent` in their `module!` have second-order rules; `{name_str}` can still be used by functions without `hvp`"
            );
            let mut generics = generics.clone();
            generics.params.push(syn::parse_quote!(__Tangents: #marker));
            let where_clause = &generics.where_clause;
            let zero = quote!(::core::unreachable!("`{}` has no tangent rule", #name_str));
            return quote! {
                #[doc(hidden)]
                #[diagnostic::on_unimplemented(message = #message, label = "called here", note = #note)]
                #vis trait #marker {}

                #[doc(hidden)]
                #[allow(clippy::too_many_arguments, unused_variables)]
                #vis fn #tangent_fn #generics (#(#param_decls,)* __y: &#output, __t: __Tangents) -> ::core::option::Option<#output> #where_clause {
                    #zero
                }

                #[doc(hidden)]
                #[allow(clippy::too_many_arguments, unused_variables)]
                #vis fn #vjp_tangent_fn #generics (
                    #(#param_decls,)*
                    __t: __Tangents,
                    __y: &#output,
                    __y_t: ::core::option::Option<&#output>,
                    __g: #upstream,
                    __g_t: ::core::option::Option<#upstream>,
                    __need: [bool; #n],
                ) -> ((#(#slot_types,)*), (#(#slot_types,)*)) #where_clause {
                    #zero
                }
            };
        }
        Tangent::Linear(span) => {
            let diff: Vec<usize> = (0..n).filter(|&i| grads[i].is_some()).collect();
            let [i] = diff[..] else {
                errors.push(syn::Error::new(
                    *span,
                    format!("module!: `tangent linear` needs exactly one differentiable input; `{name_str}` has {}: write its rules with `tangent(y) {{ .. }}`", diff.len()),
                ));
                return TokenStream::new();
            };
            let k = syn::Index::from(i);
            let mut call_args = args.clone();
            call_args[i] = quote!(__ti);
            (
                quote! {
                    match __t.#k {
                        ::core::option::Option::Some(__ti) => ::core::option::Option::Some(#name(#(#call_args),*)),
                        ::core::option::Option::None => ::core::option::Option::None,
                    }
                },
                quote! {
                    let __tangent = match __g_t {
                        ::core::option::Option::Some(__g_t) => #vjp(#(#args,)* __y, __g_t, __need),
                        ::core::option::Option::None => (#(#nones,)*),
                    };
                    (#vjp(#(#args,)* __y, __g, __need), __tangent)
                },
            )
        }
        Tangent::Rules {
            y,
            forward: rule,
            backward,
            y_t,
            g_t,
            ..
        } => {
            let bind: Vec<TokenStream> = params
                .iter()
                .zip(grads)
                .enumerate()
                .filter(|(_, (_, g))| g.is_some())
                .map(|(i, (p, _))| {
                    let (pt, k) = (format_ident!("{}_t", p.name), syn::Index::from(i));
                    quote!(let #pt = __t.#k;)
                })
                .collect();
            let Backward {
                y: by, g, need, lines, ..
            } = backward;
            let need_struct = format_ident!("__{}TangentNeed", name_str.replace('_', ""));
            // A tuple of outputs is dropped (its items may be of several types).
            let recycle_upstream =
                (!matches!(output, Type::Tuple(_))).then(|| quote!(#krate::__private::recycle_tangent(__g_t);));
            let need_fields: Vec<&Ident> = params.iter().map(|p| &p.name).collect();
            let need_values = (0..n).map(|i| quote!(__need[#i]));
            let mut given = vec![false; n];
            let body: Vec<TokenStream> = lines
                .iter()
                .map(|line| match line {
                    Line::Stmt(s) => quote!(#s),
                    Line::Grad { name: gname, value, .. } => {
                        let Some(i) = params.iter().position(|p| p.name == *gname).filter(|&i| grads[i].is_some()) else {
                            errors.push(syn::Error::new(
                                gname.span(),
                                format!("module!: `{gname}` is not a differentiable input of `{name_str}`"),
                            ));
                            return quote!();
                        };
                        given[i] = true;
                        let local = format_ident!("__tgrad_{}", gname);
                        let ty = grads[i].as_ref();
                        quote! {
                            let #local: ::core::option::Option<#ty> =
                                if #need.#gname { ::core::option::Option::Some(#value) } else { ::core::option::Option::None };
                        }
                    }
                })
                .collect();
            for (i, p) in params.iter().enumerate() {
                if grads[i].is_some() && !given[i] {
                    errors.push(syn::Error::new(
                        by.span(),
                        format!("module!: `backward_tangent` of `{name_str}` gives no `grad {}`", p.name),
                    ));
                }
            }
            let results = params.iter().zip(grads).map(|(p, slot)| match slot {
                Some(_) => {
                    let local = format_ident!("__tgrad_{}", p.name);
                    quote!(#local)
                }
                None => quote!(::core::option::Option::None),
            });
            // Only zero tangents in: a zero tangent out, with nothing computed.
            let diff_slots: Vec<syn::Index> = (0..n).filter(|&i| grads[i].is_some()).map(syn::Index::from).collect();
            // The output's tangent, zeros when it is zero, only for rules that read it.
            let reads_y_t = lines.iter().any(|line| {
                let tokens = match line {
                    Line::Stmt(s) => quote!(#s),
                    Line::Grad { value, .. } => quote!(#value),
                };
                mentions(tokens, y_t)
            });
            let y_t_binding = if reads_y_t {
                quote! {
                    let __zero_y_t;
                    let #y_t = match __y_t {
                        ::core::option::Option::Some(t) => t,
                        ::core::option::Option::None => {
                            __zero_y_t = #krate::__private::zero_tangent(__y);
                            &__zero_y_t
                        }
                    };
                }
            } else {
                quote!(let #y_t = __y_t;)
            };
            (
                quote! {
                    if #(__t.#diff_slots.is_none())&&* {
                        return ::core::option::Option::None;
                    }
                    let #y = __y;
                    #(#bind)*
                    ::core::option::Option::Some({ #rule })
                },
                quote! {
                    #[allow(dead_code, non_camel_case_types)]
                    struct #need_struct { #(#need_fields: bool,)* }
                    let #need = #need_struct { #(#need_fields: #need_values,)* };
                    let #by = __y;
                    #y_t_binding
                    #(#bind)*
                    let __tangent = {
                        let (#g, #g_t) = (&__g, ::core::option::Option::as_ref(&__g_t));
                        #(#body)*
                        (#(#results,)*)
                    };
                    // The upstream tangent's buffer goes back to the workspace
                    // (the VJP below does the same with the gradient's).
                    #recycle_upstream
                    (#vjp(#(#args,)* __y, __g, __need), __tangent)
                },
            )
        }
    };
    quote! {
        #[doc = #tangent_doc]
        #[allow(clippy::too_many_arguments, clippy::question_mark, unused_variables)]
        #vis fn #tangent_fn #generics (
            #(#param_decls,)*
            __y: &#output,
            __t: (#(#tangent_types,)*),
        ) -> ::core::option::Option<#output> #where_clause {
            #forward_body
        }

        #[doc = #vjp_tangent_doc]
        #[allow(clippy::too_many_arguments, unused_variables)]
        #vis fn #vjp_tangent_fn #generics (
            #(#param_decls,)*
            __t: (#(#tangent_types,)*),
            __y: &#output,
            __y_t: ::core::option::Option<&#output>,
            __g: #upstream,
            __g_t: ::core::option::Option<#upstream>,
            __need: [bool; #n],
        ) -> ((#(#slot_types,)*), (#(#slot_types,)*)) #where_clause {
            #backward_body
        }
    }
}

/// The generated tests of a declaration.
fn tests(d: &Declaration, params: &[Param], grads: &[Option<Type>]) -> TokenStream {
    let krate = &d.krate;
    let name = &d.forward.sig.ident;
    let name_str = name.to_string();
    let vjp = format_ident!("{}_vjp", name);
    let module = format_ident!("__{}_module_checks", name);
    let n = params.len();
    // Arguments as the forward takes them: a reference type is passed by
    // reference (`&x` coerces to `&ArrayRef…`), anything else by copy.
    let args: Vec<TokenStream> = params
        .iter()
        .map(|p| {
            let pn = &p.name;
            match &p.ty {
                Type::Reference(_) => quote!(&#pn),
                _ => quote!(::core::clone::Clone::clone(&#pn)),
            }
        })
        .collect();
    let diff: Vec<usize> = (0..n).filter(|&i| grads[i].is_some()).collect();

    // `let x = <expr>;` for every input of a case, in declaration order.
    let bind = |case: &Case| {
        let lets = params.iter().map(|p| {
            let pn = &p.name;
            let value = case.values.iter().find(|(n, _)| n == pn).map(|(_, v)| v);
            quote!(let #pn = #value;)
        });
        quote!(#(#lets)*)
    };
    // Rebinds the differentiable inputs from the perturbed rank-erased copies.
    let rebind = diff.iter().enumerate().map(|(k, &i)| {
        let pn = &params[i].name;
        quote!(let #pn = #krate::__private::check::like(&#pn, &__v[#k]);)
    });
    let rebind: Vec<TokenStream> = rebind.collect();
    let need_from = |flags: TokenStream| {
        let entries = (0..n).map(|i| match diff.iter().position(|&j| j == i) {
            Some(k) => quote!(#flags[#k]),
            None => quote!(false),
        });
        quote!([#(#entries),*])
    };
    let slot_names: Vec<Ident> = (0..n).map(|i| format_ident!("__s{}", i)).collect();
    let collected = diff.iter().map(|&i| {
        let s = &slot_names[i];
        quote!(#s.map(#krate::__private::check::to_dyn))
    });
    let collected: Vec<TokenStream> = collected.collect();
    let dyn_inputs = diff.iter().map(|&i| {
        let pn = &params[i].name;
        quote!(#krate::__private::check::to_dyn(::core::clone::Clone::clone(&#pn)))
    });
    let dyn_inputs: Vec<TokenStream> = dyn_inputs.collect();
    let force = |elem: TokenStream| {
        let lines = diff.iter().map(|&i| {
            let pn = &params[i].name;
            quote!(#krate::__private::check::elem::<#elem, _>(&#pn);)
        });
        quote!(#(#lines)*)
    };
    let force64 = force(quote!(f64));
    let force32 = force(quote!(f32));
    let all_true = need_from(quote!([true; #n]));
    let flags_need = need_from(quote!(__flags));

    let gradchecks = d.cases.iter().enumerate().map(|(case_index, case)| {
        let bind = bind(case);
        quote! {{
            #krate::__private::check::reset_seed();
            #bind
            #force64
            #krate::__private::check::vjp_matches_finite_differences(
                #name_str,
                #case_index,
                &[#(#dyn_inputs),*],
                |__v: &[#krate::__private::ndarray::ArrayD<f64>]| {
                    #(#rebind)*
                    #name(#(#args),*)
                },
                |__v: &[#krate::__private::ndarray::ArrayD<f64>], __y, __g, __flags: &[bool]| {
                    #(#rebind)*
                    let (#(#slot_names,)*) = #vjp(#(#args,)* __y, __g, #flags_need);
                    ::std::vec![#(#collected),*]
                },
            );
        }}
    });
    let precision_run = |case: &Case, force: &TokenStream| {
        let bind = bind(case);
        quote! {{
            #krate::__private::check::reset_seed();
            #bind
            #force
            let __y = #name(#(#args),*);
            let __g = #krate::__private::check::upstream(&__y);
            let (#(#slot_names,)*) = #vjp(#(#args,)* &__y, __g, #all_true);
            (#krate::__private::check::output_parts(&__y), ::std::vec![#(#collected),*])
        }}
    };
    let precision = d.cases.iter().enumerate().map(|(case_index, case)| {
        let run64 = precision_run(case, &force64);
        let run32 = precision_run(case, &force32);
        quote! {
            #krate::__private::check::f32_agrees_with_f64(#name_str, #case_index, #run32, #run64);
        }
    });
    // The tangent rules against central differences of the forward and of
    // the VJP, along random tangents of the inputs and the upstream gradient.
    let tangent_test = (!matches!(d.tangent, Tangent::None)).then(|| {
        let tangent_fn = format_ident!("{}_tangent", name);
        let vjp_tangent_fn = format_ident!("{}_vjp_tangent", name);
        let tangent_locals: Vec<Ident> = (0..n).map(|i| format_ident!("__tv{}", i)).collect();
        let bind_tangents = diff.iter().enumerate().map(|(k, &i)| {
            let (pn, tv) = (&params[i].name, &tangent_locals[i]);
            quote!(let #tv = #krate::__private::check::like(&#pn, &__tv[#k]);)
        });
        let bind_tangents: Vec<TokenStream> = bind_tangents.collect();
        let tangent_tuple = (0..n).map(|i| {
            if grads[i].is_none() {
                return quote!(::core::option::Option::None);
            }
            let tv = &tangent_locals[i];
            match &params[i].ty {
                Type::Reference(_) => quote!(::core::option::Option::Some(&#tv)),
                _ => quote!(::core::option::Option::Some(::core::clone::Clone::clone(&#tv))),
            }
        });
        let tangent_tuple: Vec<TokenStream> = tangent_tuple.collect();
        let cases = d.cases.iter().enumerate().map(|(case_index, case)| {
            let bind = bind(case);
            quote! {{
                #krate::__private::check::reset_seed();
                #bind
                #force64
                #krate::__private::check::tangents_match_finite_differences(
                    #name_str,
                    #case_index,
                    &[#(#dyn_inputs),*],
                    |__v: &[#krate::__private::ndarray::ArrayD<f64>]| {
                        #(#rebind)*
                        #name(#(#args),*)
                    },
                    |__v: &[#krate::__private::ndarray::ArrayD<f64>], __tv: &[#krate::__private::ndarray::ArrayD<f64>], __y| {
                        #(#rebind)*
                        #(#bind_tangents)*
                        #tangent_fn(#(#args,)* __y, (#(#tangent_tuple,)*)).expect("a tangent, given nonzero ones")
                    },
                    |__v: &[#krate::__private::ndarray::ArrayD<f64>], __y, __g| {
                        #(#rebind)*
                        let (#(#slot_names,)*) = #vjp(#(#args,)* __y, __g, #all_true);
                        ::std::vec![#(#collected),*]
                    },
                    |__v: &[#krate::__private::ndarray::ArrayD<f64>], __tv: &[#krate::__private::ndarray::ArrayD<f64>], __y, __yt, __g, __gt| {
                        #(#rebind)*
                        #(#bind_tangents)*
                        let (_, (#(#slot_names,)*)) =
                            #vjp_tangent_fn(#(#args,)* (#(#tangent_tuple,)*), __y, ::core::option::Option::Some(__yt), __g, ::core::option::Option::Some(__gt), #all_true);
                        ::std::vec![#(#collected),*]
                    },
                );
            }}
        });
        quote! {
            #[test]
            fn tangents_match_finite_differences() {
                use #krate::__private::check::*;
                #(#cases)*
            }
        }
    });
    quote! {
        #[cfg(test)]
        #[allow(non_snake_case, unused_imports, unused_variables, clippy::all)]
        mod #module {
            use super::*;

            #tangent_test

            #[test]
            fn vjp_matches_finite_differences() {
                use #krate::__private::check::*;
                #(#gradchecks)*
            }

            #[test]
            fn f32_agrees_with_f64() {
                use #krate::__private::check::*;
                #(#precision)*
            }
        }
    }
}
