//! C: functions, structs, unions, enums, typedefs and macros; calls; `#include`s.

use super::{call_of, field_text, member_call, text, CallKind, Found, Kind};
use tree_sitter::Node;

/// Nesting of declarators a function name is looked for through (pointers, parentheses,
/// attributes): real code stays far below it.
const DECLARATOR_DEPTH_MAX: usize = 16;

/// The name a declarator declares, through pointer, parenthesised, attributed and function
/// declarators, and (in C++) the type a qualified name puts it in (`Parser` in
/// `Parser::parse`). C and C++ read declarators with this one walk.
pub(super) fn declared(mut node: Node<'_>, source: &[u8]) -> Option<(String, Option<String>)> {
    for _ in 0..DECLARATOR_DEPTH_MAX {
        match node.kind() {
            "identifier" | "field_identifier" | "destructor_name" | "operator_name"
            | "type_identifier" => return Some((text(node, source), None)),
            "qualified_identifier" => {
                let (name, _) = declared(node.child_by_field_name("name")?, source)?;
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

/// A struct, union, enum (or C++ class) with a body and a name: a definition (without a
/// body it only names the type). C++ reads its types with this.
pub(super) fn type_with_body(node: Node<'_>, source: &[u8]) -> Found {
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

/// The name a C declarator declares.
fn declared_name(node: Node<'_>, source: &[u8]) -> Option<String> {
    declared(node, source).map(|(name, _)| name)
}

pub(super) fn classify(node: Node<'_>, source: &[u8]) -> Found {
    match node.kind() {
        "function_definition" => node
            .child_by_field_name("declarator")
            .and_then(|declarator| declared_name(declarator, source))
            .map_or(Found::Nothing, |name| Found::Definition {
                kind: Kind::Function,
                name,
                owner: None,
            }),
        "struct_specifier" | "union_specifier" | "enum_specifier" => type_with_body(node, source),
        "type_definition" => node
            .child_by_field_name("declarator")
            .and_then(|declarator| declared_name(declarator, source))
            .map_or(Found::Nothing, |name| Found::Definition {
                kind: Kind::TypeAlias,
                name,
                owner: None,
            }),
        "preproc_function_def" | "preproc_def" => match field_text(node, "name", source) {
            Some(name) if !include_guard(node, &name, source) => {
                Found::Definition { kind: Kind::Macro, name, owner: None }
            }
            _ => Found::Nothing,
        },
        "call_expression" => call(node, source),
        "preproc_include" => include(node, source),
        "type_identifier" => Found::Reference { name: text(node, source) },
        _ => Found::Nothing,
    }
}

/// `#define NAME` with no value directly inside `#ifndef NAME`: a header's include guard,
/// which names the file's state, not a macro anyone uses.
fn include_guard(node: Node<'_>, name: &str, source: &[u8]) -> bool {
    node.kind() == "preproc_def"
        && node.child_by_field_name("value").is_none()
        && node.parent().is_some_and(|parent| {
            parent.kind() == "preproc_ifdef"
                && field_text(parent, "name", source).as_deref() == Some(name)
        })
}

/// A call: `f(x)`, or `s->f(x)` / `s.f(x)` (in C through a function pointer in a struct,
/// in C++ a method; `this->f()` is a call on the caller's own type). C++ reads its calls
/// with this, after its qualified ones (`T::f()`).
pub(super) fn call(node: Node<'_>, source: &[u8]) -> Found {
    let Some(function) = node.child_by_field_name("function") else {
        return Found::Nothing;
    };
    match function.kind() {
        "identifier" => call_of(function, source),
        "field_expression" => {
            let argument = function.child_by_field_name("argument");
            let qualifier = argument.filter(|a| a.kind() == "this").map(|_| "self".to_string());
            member_call(function, "field", source, qualifier, CallKind::Method)
        }
        _ => Found::Nothing,
    }
}

/// A `#include`: local when quoted. C++ reads them the same way.
pub(super) fn include(node: Node<'_>, source: &[u8]) -> Found {
    let Some(path) = node.child_by_field_name("path") else {
        return Found::Nothing;
    };
    let written = text(path, source);
    let local = path.kind() == "string_literal";
    let target = written.trim_matches(|c| c == '"' || c == '<' || c == '>').to_string();
    Found::Import { target, local, binds: None }
}
