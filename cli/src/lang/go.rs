//! Go: functions, methods (owned by their receiver's type), struct, interface and other
//! type declarations; calls; imports.

use super::{call_of, field_text, member_call, named, text, CallKind, Found, Kind};
use tree_sitter::Node;

/// The type a method's receiver names: `T` in `(t *T)` or `(t T[K])`.
fn receiver_type(node: Node<'_>, source: &[u8]) -> Option<String> {
    let receiver = node.child_by_field_name("receiver")?;
    let declaration = receiver.named_child(0)?;
    let written = text(declaration.child_by_field_name("type")?, source);
    let base = written.trim_start_matches('*');
    Some(base.split('[').next().unwrap_or(base).to_string())
}

pub(super) fn classify(node: Node<'_>, source: &[u8]) -> Found {
    match node.kind() {
        "function_declaration" => named(node, Kind::Function, source),
        "method_declaration" => field_text(node, "name", source).map_or(Found::Nothing, |name| {
            Found::Definition { kind: Kind::Method, name, owner: receiver_type(node, source) }
        }),
        "type_spec" | "type_alias" => {
            let kind = match node.child_by_field_name("type").map(|t| t.kind()) {
                Some("struct_type") => Kind::Struct,
                Some("interface_type") => Kind::Interface,
                _ => Kind::TypeAlias,
            };
            named(node, kind, source)
        }
        "call_expression" => {
            let Some(function) = node.child_by_field_name("function") else {
                return Found::Nothing;
            };
            match function.kind() {
                "identifier" => call_of(function, source),
                // `pkg.F()` or `x.M()`: which one, only types can tell.
                "selector_expression" => {
                    let operand = function.child_by_field_name("operand");
                    let qualifier =
                        operand.filter(|o| o.kind() == "identifier").map(|o| text(o, source));
                    member_call(function, "field", source, qualifier, CallKind::Unknown)
                }
                _ => Found::Nothing,
            }
        }
        "type_identifier" => Found::Reference { name: text(node, source) },
        "import_spec" => field_text(node, "path", source).map_or(Found::Nothing, |path| {
            let target = path.trim_matches('"').to_string();
            // `f "fmt"` binds `f`; `"net/http"` binds its last element, `http`.
            let binds = field_text(node, "name", source)
                .or_else(|| target.rsplit('/').next().map(str::to_string));
            Found::Import { target, local: false, binds }
        }),
        _ => Found::Nothing,
    }
}
