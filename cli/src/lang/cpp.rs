//! C++: what C has, plus classes, namespaces, methods defined in their class or outside it
//! (`void Parser::parse() {...}`), and calls through `Type::f`, `x.f()`, `this->f()`.

use super::c::declared;
use super::{named, text, CallKind, Found, Kind};
use tree_sitter::Node;

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
            super::c::type_with_body(node, source)
        }
        "namespace_definition" => named(node, Kind::Module, source),
        "type_definition" | "alias_declaration" => {
            let name =
                node.child_by_field_name("declarator").or_else(|| node.child_by_field_name("name"));
            name.and_then(|name| declared(name, source)).map_or(Found::Nothing, |(name, _)| {
                Found::Definition { kind: Kind::TypeAlias, name, owner: None }
            })
        }
        // Macros as C reads them (include guards left out, bodies read for calls).
        "preproc_function_def" | "preproc_def" => super::c::classify(node, source),
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
