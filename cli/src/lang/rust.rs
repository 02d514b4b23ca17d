//! Rust: functions and methods, structs, enums, unions, traits, type aliases, `macro_rules!`,
//! modules; calls and macro invocations; `use` and `mod` items.

use super::{call_of, field_text, member_call, named, text, CallKind, Found, Kind};
use tree_sitter::Node;

/// The name of an impl's type without generics or references: `Store` for `&mut Store<'r>`.
fn type_name(node: Node<'_>, source: &[u8]) -> String {
    let written = text(node, source);
    let base = written.split('<').next().unwrap_or(&written);
    let base = base.trim_start_matches('&').trim_start_matches("mut ").trim();
    base.rsplit("::").next().unwrap_or(base).to_string()
}

pub(super) fn classify(node: Node<'_>, source: &[u8]) -> Found {
    let kind = match node.kind() {
        "function_item" | "function_signature_item" => Kind::Function,
        "struct_item" => Kind::Struct,
        "enum_item" => Kind::Enum,
        "union_item" => Kind::Union,
        "trait_item" => Kind::Trait,
        "type_item" => Kind::TypeAlias,
        "macro_definition" => Kind::Macro,
        "mod_item" if node.child_by_field_name("body").is_some() => Kind::Module,
        "mod_item" => {
            // `mod store;`: the module's file is imported.
            return field_text(node, "name", source).map_or(Found::Nothing, |target| {
                Found::Import { target, local: true, binds: None }
            });
        }
        "impl_item" => {
            return node.child_by_field_name("type").map_or(Found::Nothing, |ty| Found::Scope {
                name: type_name(ty, source),
                implements: node.child_by_field_name("trait").map(|t| type_name(t, source)),
            });
        }
        "call_expression" => return call(node, source),
        "macro_invocation" => {
            return field_text(node, "macro", source).map_or(Found::Nothing, |name| {
                let name = name.rsplit("::").next().unwrap_or(&name).to_string();
                Found::Call { name, qualifier: None, kind: CallKind::Unknown }
            });
        }
        "use_declaration" => {
            return field_text(node, "argument", source).map_or(Found::Nothing, |target| {
                let local = ["crate", "self", "super"].iter().any(|root| target.starts_with(root));
                Found::Import { target, local, binds: None }
            });
        }
        "type_identifier" => return Found::Reference { name: text(node, source) },
        _ => return Found::Nothing,
    };
    named(node, kind, source)
}

fn call(node: Node<'_>, source: &[u8]) -> Found {
    let Some(mut function) = node.child_by_field_name("function") else {
        return Found::Nothing;
    };
    if function.kind() == "generic_function" {
        match function.child_by_field_name("function") {
            Some(inner) => function = inner,
            None => return Found::Nothing,
        }
    }
    match function.kind() {
        "identifier" => call_of(function, source),
        "scoped_identifier" => {
            // `a::B::f`: the segment before the name; generics dropped (`Vec::<u8>::new`).
            let qualifier = field_text(function, "path", source).map(|path| {
                let last = path.rsplit("::").next().unwrap_or(&path).to_string();
                last.split('<').next().unwrap_or(&last).to_string()
            });
            member_call(function, "name", source, qualifier, CallKind::Function)
        }
        "field_expression" => {
            let value = function.child_by_field_name("value");
            let on_self = value.is_some_and(|value| value.kind() == "self");
            let qualifier = on_self.then(|| "self".to_string());
            member_call(function, "field", source, qualifier, CallKind::Method)
        }
        _ => Found::Nothing,
    }
}
