//! C++: what C has, plus classes, namespaces, methods defined in their class or outside it
//! (`void Parser::parse() {...}`), and calls through `Type::f`, `x.f()`, `this->f()`.

use super::{field_text, text, CallKind, Found, Kind};
use tree_sitter::Node;

/// Nesting of declarators a function name is looked for through.
const DECLARATOR_DEPTH_MAX: usize = 16;

/// The name a function definition declares, and the type it is qualified with
/// (`Parser` in `Parser::parse`).
fn declared(mut node: Node<'_>, source: &[u8]) -> Option<(String, Option<String>)> {
    for _ in 0..DECLARATOR_DEPTH_MAX {
        match node.kind() {
            "identifier" | "field_identifier" | "destructor_name" | "operator_name"
            | "type_identifier" => {
                return Some((text(node, source), None));
            }
            "qualified_identifier" => {
                let name = node.child_by_field_name("name")?;
                let (name, _) = declared(name, source)?;
                let scope = node.child_by_field_name("scope").map(|scope| text(scope, source));
                let owner =
                    scope.map(|scope| scope.rsplit("::").next().unwrap_or(&scope).to_string());
                return Some((name, owner));
            }
            _ => node = node.child_by_field_name("declarator").or_else(|| node.named_child(0))?,
        }
    }
    None
}

pub(super) fn classify(node: Node<'_>, source: &[u8]) -> Found {
    match node.kind() {
        "function_definition" => node
            .child_by_field_name("declarator")
            .and_then(|declarator| declared(declarator, source))
            .map_or(Found::Nothing, |(name, owner)| Found::Definition {
                kind: Kind::Function,
                name,
                owner,
            }),
        "class_specifier" | "struct_specifier" | "union_specifier" | "enum_specifier" => {
            let kind = match node.kind() {
                "class_specifier" => Kind::Class,
                "struct_specifier" => Kind::Struct,
                "union_specifier" => Kind::Union,
                _ => Kind::Enum,
            };
            match (field_text(node, "name", source), node.child_by_field_name("body")) {
                (Some(name), Some(_)) => Found::Definition { kind, name, owner: None },
                _ => Found::Nothing,
            }
        }
        "namespace_definition" => field_text(node, "name", source).map_or(Found::Nothing, |name| {
            Found::Definition { kind: Kind::Module, name, owner: None }
        }),
        "type_definition" | "alias_declaration" => {
            let name =
                node.child_by_field_name("declarator").or_else(|| node.child_by_field_name("name"));
            name.and_then(|name| declared(name, source)).map_or(Found::Nothing, |(name, _)| {
                Found::Definition { kind: Kind::TypeAlias, name, owner: None }
            })
        }
        "preproc_function_def" | "preproc_def" => {
            field_text(node, "name", source).map_or(Found::Nothing, |name| Found::Definition {
                kind: Kind::Macro,
                name,
                owner: None,
            })
        }
        "call_expression" => call(node, source),
        "type_identifier" => Found::Reference { name: text(node, source) },
        "preproc_include" => super::c::include(node, source),
        _ => Found::Nothing,
    }
}

fn call(node: Node<'_>, source: &[u8]) -> Found {
    let Some(function) = node.child_by_field_name("function") else {
        return Found::Nothing;
    };
    match function.kind() {
        "qualified_identifier" => {
            declared(function, source).map_or(Found::Nothing, |(name, qualifier)| Found::Call {
                name,
                qualifier,
                kind: CallKind::Function,
            })
        }
        _ => super::c::call(node, source),
    }
}
