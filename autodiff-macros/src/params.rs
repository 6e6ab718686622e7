//! `#[derive(Params)]`: a struct of tensors (arrays, or nested `Params`
//! structs) visits them by field name, and is its own gradient type.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

pub fn derive(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input) {
        Ok(input) => expand(&input).unwrap_or_else(syn::Error::into_compile_error),
        Err(e) => e.into_compile_error(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "`Params` needs a struct with named fields, like `struct Mlp { w1: Array2<f32>, b1: Array1<f32> }`",
                ));
            }
        },
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "`Params` needs a struct, not an enum",
            ));
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "`Params` needs a struct, not a union",
            ));
        }
    };
    let Some(first) = fields.first() else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "a `Params` struct needs at least one tensor field",
        ));
    };
    let ident = &input.ident;
    let p = quote!(::autodiff::__private);
    let names: Vec<_> = fields.iter().filter_map(|f| f.ident.as_ref()).collect();
    let strings: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    // A concrete struct's element type is its first field's, and each field is
    // checked in the bodies, where each call is spanned at its field. A
    // generic struct (`struct Layer<F: Float> { w: Array2<F>, .. }`) needs
    // bounds saying that its fields are tensors of one element type, which
    // is a parameter of the impls of its own: bound to the first field's
    // `Elem` in terms of the struct's parameters, rustc cannot prove that the
    // other fields' `Elem` equals it.
    let mut generics = input.generics.clone();
    let elem = if input.generics.params.is_empty() {
        let first_ty = &first.ty;
        quote!(<#first_ty as #p::Params>::Elem)
    } else {
        let elem = syn::Ident::new("__AutodiffElem", proc_macro2::Span::call_site());
        generics.params.push(syn::parse_quote!(#elem: #p::Float));
        let clause = generics.make_where_clause();
        for f in fields {
            let ty = &f.ty;
            clause.predicates.push(
                syn::parse_quote_spanned!(ty.span()=> #ty: #p::Params<Elem = #elem> + #p::Gradient + #p::Recycle),
            );
        }
        quote!(#elem)
    };
    let (impl_generics, _, where_tokens) = generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let visits = fields.iter().map(|f| {
        let (name, text) = (&f.ident, f.ident.as_ref().map(|i| i.to_string()));
        quote_spanned!(f.ty.span()=> #p::Params::visit_prefixed(&self.#name, &#p::join_name(prefix, #text), f);)
    });
    let visits_mut = fields.iter().map(|f| {
        let (name, text) = (&f.ident, f.ident.as_ref().map(|i| i.to_string()));
        quote_spanned!(f.ty.span()=> #p::Params::visit_prefixed_mut(&mut self.#name, &#p::join_name(prefix, #text), f);)
    });
    let visits_values = fields.iter().map(|f| {
        let name = &f.ident;
        quote_spanned!(f.ty.span()=> #p::Params::visit_values(&self.#name, f);)
    });
    let visits_values_mut = fields.iter().map(|f| {
        let name = &f.ident;
        quote_spanned!(f.ty.span()=> #p::Params::visit_values_mut(&mut self.#name, f);)
    });
    let visits_zip = fields.iter().map(|f| {
        let name = &f.ident;
        quote_spanned!(f.ty.span()=> #p::Params::visit_zip_mut(&mut self.#name, &other.#name, f);)
    });

    Ok(quote! {
        impl #impl_generics #p::Params for #ident #ty_generics #where_tokens {
            type Elem = #elem;
            fn visit_prefixed<'__a>(
                &'__a self,
                prefix: &str,
                f: &mut dyn ::core::ops::FnMut(&str, #p::ArrayViewD<'__a, Self::Elem>),
            ) {
                #(#visits)*
            }
            fn visit_prefixed_mut(
                &mut self,
                prefix: &str,
                f: &mut dyn ::core::ops::FnMut(&str, #p::ArrayViewMutD<'_, Self::Elem>),
            ) {
                #(#visits_mut)*
            }
            fn visit_zip_mut(
                &mut self,
                other: &Self,
                f: &mut dyn ::core::ops::FnMut(#p::ArrayViewMutD<'_, Self::Elem>, #p::ArrayViewD<'_, Self::Elem>),
            ) {
                #(#visits_zip)*
            }
            fn visit_values(&self, f: &mut dyn ::core::ops::FnMut(#p::ArrayViewD<'_, Self::Elem>)) {
                #(#visits_values)*
            }
            fn visit_values_mut(&mut self, f: &mut dyn ::core::ops::FnMut(#p::ArrayViewMutD<'_, Self::Elem>)) {
                #(#visits_values_mut)*
            }
        }

        impl #impl_generics #p::Gradient for #ident #ty_generics #where_tokens {
            fn zeros_like(value: &Self) -> Self {
                #ident { #( #names: #p::Gradient::zeros_like(&value.#names), )* }
            }
            fn accumulate(&mut self, other: Self) {
                #( #p::Gradient::accumulate(&mut self.#names, other.#names); )*
            }
            fn empty_like(value: &Self) -> Self {
                #ident { #( #names: #p::Gradient::empty_like(&value.#names), )* }
            }
            fn fill_like(&mut self, value: &Self) {
                #( #p::Gradient::fill_like(&mut self.#names, &value.#names); )*
            }
            fn visit_elements(&self, name: &str, f: &mut dyn FnMut(&str, #p::hooks::Elements<'_>)) {
                #( #p::Gradient::visit_elements(&self.#names, &#p::join_name(name, #strings), f); )*
            }
            fn visit_elements_mut(&mut self, name: &str, f: &mut dyn FnMut(&str, #p::hooks::ElementsMut<'_>)) {
                #( #p::Gradient::visit_elements_mut(&mut self.#names, &#p::join_name(name, #strings), f); )*
            }
        }

        impl #impl_generics #p::RealGradient for #ident #ty_generics #where_tokens {}

        impl #impl_generics #p::Recycle for #ident #ty_generics #where_tokens {
            fn recycle(self, workspace: &mut #p::Workspace) {
                #( #p::Recycle::recycle(self.#names, workspace); )*
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_a_struct_of_named_fields() {
        for input in [
            quote!(
                enum E {
                    A,
                }
            ),
            quote!(
                struct T(Array1<f32>);
            ),
            quote!(
                struct U;
            ),
            quote!(
                struct Empty {}
            ),
            quote!(union U { a: f32 }),
        ] {
            let out = derive(input).to_string();
            assert!(out.contains("compile_error"), "{out}");
        }
    }
}
