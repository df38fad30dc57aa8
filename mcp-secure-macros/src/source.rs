//! A look at the server's struct, when it is defined in the same file as its `impl`: if it
//! has no `security` field, the error says so and names the field to use
//! (`security = field`), instead of the compiler's bare "no field `security`".
//!
//! Only a diagnostic: nothing generated depends on it. When the struct is elsewhere (or
//! the file cannot be read), the expansion is the same and the compiler reports the field.

use proc_macro2::Span;
use syn::{Fields, Item, Type};

/// What the struct holds, when it is found in the file.
pub(crate) struct StructFields {
    /// Every named field.
    pub names: Vec<String>,
    /// The fields whose type's last segment is `Security`.
    pub security_typed: Vec<String>,
}

fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The named fields of every struct called `name` in `items` (and nested modules), merged;
/// `None` if there is no such struct with named fields.
fn find(items: &[Item], name: &str, out: &mut Option<StructFields>) {
    for item in items {
        match item {
            Item::Struct(s) if s.ident == name => {
                let Fields::Named(fields) = &s.fields else {
                    continue;
                };
                let found = out.get_or_insert_with(|| StructFields {
                    names: Vec::new(),
                    security_typed: Vec::new(),
                });
                for field in &fields.named {
                    let Some(ident) = &field.ident else { continue };
                    found.names.push(ident.to_string());
                    if type_name(&field.ty).as_deref() == Some("Security") {
                        found.security_typed.push(ident.to_string());
                    }
                }
            }
            Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    find(inner, name, out);
                }
            }
            _ => {}
        }
    }
}

/// The fields of the struct `self_ty` names, if it is defined in the file `span` is in.
pub(crate) fn struct_fields(self_ty: &Type, span: Span) -> Option<StructFields> {
    if !proc_macro::is_available() {
        return None;
    }
    let name = type_name(self_ty)?;
    let path = span.unwrap().local_file()?;
    let text = std::fs::read_to_string(path).ok()?;
    let file = syn::parse_file(&text).ok()?;
    let mut out = None;
    find(&file.items, &name, &mut out);
    out
}
