//! Expansion snapshots: what `#[secure_server]` generates for one tool and for a whole
//! server, pretty-printed and compared with `tests/expand/*.expanded.rs`, so the size of the
//! generated code stays visible in review. `MCP_SECURE_BLESS=1 cargo test -p
//! mcp-secure-macros snapshots` rewrites them after an intended change.

use std::path::PathBuf;

fn expand_case(name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let source = std::fs::read_to_string(dir.join(format!("{name}.rs"))).expect("the case");
    let file: syn::File = syn::parse_str(&source).expect("the case parses");
    let mut out = proc_macro2::TokenStream::new();
    for item in file.items {
        match item {
            syn::Item::Impl(mut item_impl) => {
                let position = item_impl
                    .attrs
                    .iter()
                    .position(|a| a.path().is_ident("secure_server"));
                let Some(position) = position else {
                    out.extend(quote::quote!(#item_impl));
                    continue;
                };
                let attr = item_impl.attrs.remove(position);
                let args = match attr.meta {
                    syn::Meta::List(list) => list.tokens,
                    _ => proc_macro2::TokenStream::new(),
                };
                out.extend(crate::secure_server_impl(args, quote::quote!(#item_impl)));
            }
            other => out.extend(quote::quote!(#other)),
        }
    }
    let expanded: syn::File = syn::parse2(out).expect("the expansion parses");
    let pretty = prettyplease::unparse(&expanded);
    let path = dir.join(format!("{name}.expanded.rs"));
    if std::env::var_os("MCP_SECURE_BLESS").is_some() {
        std::fs::write(&path, &pretty).expect("write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == pretty,
        "{name}: the expansion changed; review it and run with MCP_SECURE_BLESS=1:\n{pretty}"
    );
}

#[test]
fn one_tool() {
    expand_case("one_tool");
}

#[test]
fn server() {
    expand_case("server");
}
