//! Python: functions, methods and classes; calls; `import` (each module, with the name it
//! binds) and `from ... import`.

use super::{call_of, field_text, member_call, named, text, CallKind, Found, Kind};
use tree_sitter::Node;

pub(super) fn classify(node: Node<'_>, source: &[u8]) -> Found {
    match node.kind() {
        "function_definition" => named(node, Kind::Function, source),
        "class_definition" => named(node, Kind::Class, source),
        "call" => {
            let Some(function) = node.child_by_field_name("function") else {
                return Found::Nothing;
            };
            match function.kind() {
                "identifier" => call_of(function, source),
                "attribute" => {
                    let object = function.child_by_field_name("object");
                    let qualifier =
                        object.filter(|o| o.kind() == "identifier").map(|o| text(o, source));
                    member_call(function, "attribute", source, qualifier, CallKind::Method)
                }
                _ => Found::Nothing,
            }
        }
        "import_from_statement" => {
            field_text(node, "module_name", source).map_or(Found::Nothing, |target| {
                let local = target.starts_with('.');
                Found::Import { target, local, binds: None }
            })
        }
        // Each module of `import a.b, c as d`: `a.b` binds `a`, `c as d` binds `d`.
        "dotted_name" if node.parent().is_some_and(|p| p.kind() == "import_statement") => {
            let target = text(node, source);
            let binds = target.split('.').next().map(str::to_string);
            Found::Import { target, local: false, binds }
        }
        "aliased_import" if node.parent().is_some_and(|p| p.kind() == "import_statement") => {
            match (field_text(node, "name", source), field_text(node, "alias", source)) {
                (Some(target), Some(alias)) => {
                    Found::Import { target, local: false, binds: Some(alias) }
                }
                _ => Found::Nothing,
            }
        }
        _ => Found::Nothing,
    }
}
