//! What to emit when the input cannot be read at all: the user's tokens unchanged, and the
//! error. The IDE and the rest of the crate keep working on the code as written.

use proc_macro2::TokenStream;

/// `#[secure_server]` on something that is not an `impl` block.
pub(crate) fn not_an_impl(input: TokenStream, error: &syn::Error) -> TokenStream {
    let mut out = input;
    out.extend(
        syn::Error::new(
            error.span(),
            "`#[secure_server]` goes on an `impl` block holding `#[secure_tool]` methods",
        )
        .to_compile_error(),
    );
    out
}
