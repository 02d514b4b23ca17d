//! JavaScript and TypeScript: functions (declared, or arrow and function expressions bound
//! to a name), classes and their methods, TypeScript interfaces, type aliases and enums;
//! calls and `new`; `import ... from`.

use super::{call_of, field_text, member_call, named, text, CallKind, Found, Kind};
use tree_sitter::Node;

pub(super) fn classify(node: Node<'_>, source: &[u8]) -> Found {
    let kind = match node.kind() {
        "function_declaration" | "generator_function_declaration" | "method_definition" => {
            Kind::Function
        }
        "class_declaration" | "abstract_class_declaration" => Kind::Class,
        "interface_declaration" => Kind::Interface,
        "type_alias_declaration" => Kind::TypeAlias,
        "enum_declaration" => Kind::Enum,
        "variable_declarator" => {
            // `const f = () => ...`, `let g = function () {...}`.
            let function_value = node.child_by_field_name("value").is_some_and(|value| {
                matches!(value.kind(), "arrow_function" | "function_expression" | "function")
            });
            let name = node.child_by_field_name("name").filter(|n| n.kind() == "identifier");
            return match (function_value, name) {
                (true, Some(name)) => Found::Definition {
                    kind: Kind::Function,
                    name: text(name, source),
                    owner: None,
                },
                _ => Found::Nothing,
            };
        }
        "call_expression" => return call(node, source),
        "new_expression" => {
            return node
                .child_by_field_name("constructor")
                .filter(|c| c.kind() == "identifier")
                .map_or(Found::Nothing, |c| call_of(c, source));
        }
        "import_statement" => {
            return field_text(node, "source", source).map_or(Found::Nothing, |target| {
                let target = target.trim_matches(|c| c == '"' || c == '\'').to_string();
                let local = target.starts_with('.');
                Found::Import { target, local, binds: module_binding(node, source) }
            });
        }
        "type_identifier" => return Found::Reference { name: text(node, source) },
        _ => return Found::Nothing,
    };
    named(node, kind, source)
}

fn call(node: Node<'_>, source: &[u8]) -> Found {
    let Some(function) = node.child_by_field_name("function") else {
        return Found::Nothing;
    };
    match function.kind() {
        "identifier" => call_of(function, source),
        "member_expression" => {
            let object = function.child_by_field_name("object");
            let qualifier = object.and_then(|object| match object.kind() {
                "this" => Some("self".to_string()),
                "identifier" => Some(text(object, source)),
                _ => None,
            });
            member_call(function, "property", source, qualifier, CallKind::Method)
        }
        _ => Found::Nothing,
    }
}

/// The name `import * as ns from "m"` or `import m from "m"` binds to the module.
fn module_binding(node: Node<'_>, source: &[u8]) -> Option<String> {
    let mut cursor = node.walk();
    let clause = node.named_children(&mut cursor).find(|c| c.kind() == "import_clause")?;
    let mut inner = clause.walk();
    let binding = clause.named_children(&mut inner).find_map(|child| match child.kind() {
        "identifier" => Some(text(child, source)),
        "namespace_import" => {
            let mut names = child.walk();
            let name = child.named_children(&mut names).find(|n| n.kind() == "identifier");
            name.map(|name| text(name, source))
        }
        _ => None,
    });
    binding
}

/// Objects every JavaScript runtime defines (`console.log()`, `Math.max()`): a call on one
/// is the runtime's, never a method of the same name in the tree.
pub(super) const GLOBAL_OBJECTS: [&str; 14] = [
    "console",
    "Math",
    "JSON",
    "Object",
    "Array",
    "Promise",
    "Reflect",
    "Number",
    "String",
    "Date",
    "process",
    "window",
    "document",
    "globalThis",
];
