//! Collects every error found in one expansion so the user sees them all at once.

use proc_macro2::{Span, TokenStream};
use std::fmt::Display;

/// An accumulator of `syn::Error`s; [`Errors::into_compile_errors`] turns them into
/// `compile_error!` invocations, each on its own span.
#[derive(Default)]
pub(crate) struct Errors {
    inner: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.inner {
            Some(inner) => inner.combine(error),
            None => self.inner = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.inner
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.inner.map(|e| e.to_compile_error()).unwrap_or_default()
    }
}

/// The closest candidate to `unknown` by Jaro-Winkler similarity, if it is close enough
/// to be a plausible typo.
pub(crate) fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(unknown, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// `` `a`, `b` and `c` `` for messages.
pub(crate) fn backticked_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
