//! C and C++ code the preprocessor splits: `if (a) { ... } #else ... } #endif else ...`
//! is two programs in one text, and a parser of the text alone loses the function around it
//! (tree-sitter recovers by breaking it into statements at the top level, and the function
//! and every definition after it up to the point of recovery are lost: 104 calls of the
//! SQLite amalgamation). Such a stretch is parsed again as one configuration: each
//! conditional's first branch, without the directives, the rest blanked out byte for byte,
//! so positions stay those of the file.

use tree_sitter::{Node, Range as TsRange};

/// `source` with every conditional directive and every `#elif`/`#else` branch blanked (its
/// bytes but newlines made spaces): each conditional's first branch, as plain code.
pub(super) fn first_branches(source: &[u8]) -> Vec<u8> {
    let mut out = source.to_vec();
    // Per open conditional: whether a later branch of it is being blanked.
    let mut open: Vec<bool> = Vec::new();
    let mut start = 0;
    while start < source.len() {
        let end =
            source[start..].iter().position(|&b| b == b'\n').map_or(source.len(), |at| start + at);
        let directive = directive_of(&source[start..end]).map(|(directive, _)| directive);
        let blanking = open.iter().any(|&blank| blank);
        match directive {
            Some(b"if" | b"ifdef" | b"ifndef") => open.push(false),
            Some(b"elif" | b"else" | b"elifdef" | b"elifndef") => {
                if let Some(last) = open.last_mut() {
                    *last = true;
                }
            }
            Some(b"endif") => {
                open.pop();
            }
            _ => {}
        }
        let conditional = matches!(
            directive,
            Some(b"if" | b"ifdef" | b"ifndef" | b"elif" | b"else" | b"elifdef" | b"elifndef")
                | Some(b"endif")
        );
        if conditional || blanking || open.iter().any(|&blank| blank) {
            for byte in &mut out[start..end] {
                if *byte != b'\n' && *byte != b'\r' {
                    *byte = b' ';
                }
            }
        }
        start = end + 1;
    }
    out
}

/// `source` with each of `spans` in its first configuration (`first_branches`, each span
/// on its own): the broken stretches of a file, to be parsed again one by one.
pub(super) fn first_branches_of(source: &[u8], spans: &[TsRange]) -> Vec<u8> {
    let mut out = source.to_vec();
    for span in spans {
        let bytes = span.start_byte..span.end_byte;
        let (Some(kept), Some(target)) = (source.get(bytes.clone()), out.get_mut(bytes)) else {
            continue;
        };
        target.copy_from_slice(&first_branches(kept));
    }
    out
}

/// Per line of `source` (0-based): whether it lies inside a preprocessor conditional,
/// guards aside, which every configuration has: an include guard (`#ifndef X_H` then
/// `#define X_H`, at any depth: the SQLite amalgamation nests every header's) and a
/// whole-file guard (`#ifndef X` ... `#endif` around all the file's directives). Read from
/// the text, not the parse, so a conditional the parser recovered from counts right.
pub(super) fn conditional_lines(source: &[u8]) -> Vec<bool> {
    let lines: Vec<&[u8]> = source.split(|&b| b == b'\n').collect();
    let directives: Vec<(usize, &[u8], &[u8])> = lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| directive_of(line).map(|(d, name)| (index, d, name)))
        .collect();
    let whole_file = whole_file_guard(&directives);
    let mut inside = vec![false; lines.len()];
    // Per open conditional: whether it is a guard.
    let mut open: Vec<bool> = Vec::new();
    let mut next = directives.iter().enumerate().peekable();
    for (index, flag) in inside.iter_mut().enumerate() {
        if let Some((at, (_, directive, name))) = next.next_if(|(_, (line, ..))| *line == index) {
            match *directive {
                b"if" | b"ifdef" => open.push(false),
                b"ifndef" => {
                    let defines_it = directives
                        .get(at + 1)
                        .is_some_and(|(_, d, defined)| *d == b"define" && defined == name);
                    open.push(defines_it || whole_file == Some(at));
                }
                b"endif" => {
                    open.pop();
                }
                _ => {}
            }
        }
        *flag = open.iter().any(|&guard| !guard);
    }
    inside
}

/// The index (in `directives`) of a first directive `#ifndef` whose `#endif` is the last
/// directive: the whole file's guard.
fn whole_file_guard(directives: &[(usize, &[u8], &[u8])]) -> Option<usize> {
    let (_, b"ifndef", _) = directives.first().copied()? else { return None };
    let mut depth = 0usize;
    for (at, (_, directive, _)) in directives.iter().enumerate() {
        match *directive {
            b"if" | b"ifdef" | b"ifndef" => depth += 1,
            b"endif" => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 {
            return (at + 1 == directives.len()).then_some(0);
        }
    }
    None
}

/// The directive a line holds (`if` in `  # if X`) and the word after it, if it is one.
fn directive_of(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = line.trim_ascii_start().strip_prefix(b"#")?.trim_ascii_start();
    let length = rest.iter().position(|b| !b.is_ascii_alphabetic()).unwrap_or(rest.len());
    let (directive, after) = rest.split_at(length);
    let after = after.trim_ascii_start();
    let word = after.iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'));
    Some((directive, &after[..word.unwrap_or(after.len())]))
}

/// Top-level nodes no C file has outside a function: the pieces of one the parser broke,
/// `if (x) { ... }` read as a function named `if` among them. (A sound expression
/// statement is left out: a macro invocation at file level is one.)
fn stray(node: Node<'_>, source: &[u8]) -> bool {
    let keyword_function = node.kind() == "function_definition"
        && node
            .child_by_field_name("declarator")
            .and_then(|declarator| declarator.child_by_field_name("declarator"))
            .and_then(|name| source.get(name.byte_range()))
            .is_some_and(|name| {
                [&b"if"[..], b"while", b"for", b"switch", b"return", b"sizeof"].contains(&name)
            });
    // `else` left over after a break reads as an expression missing its `;`.
    let broken_statement = node.kind() == "expression_statement" && node.has_error();
    keyword_function
        || broken_statement
        || node.is_error()
        || matches!(
            node.kind(),
            "{" | "}"
                | "compound_statement"
                | "if_statement"
                | "switch_statement"
                | "for_statement"
                | "while_statement"
                | "do_statement"
                | "return_statement"
                | "break_statement"
                | "continue_statement"
                | "goto_statement"
                | "labeled_statement"
                | "case_statement"
                | "storage_class_specifier"
                | "primitive_type"
                | "function_declarator"
        )
}

/// The byte ranges where the parse under `root` broke: from a stray top-level node to the
/// last stray one before the next function the parser did read (the pieces of a broken
/// function lie between declarations and statements it read as if at file level). A
/// function read whole with a hole inside is left as read: parsed again in its first
/// configuration it would lose the calls of the others, often the one built (LMDB's
/// `#ifdef _WIN32` comes first), which costs more than the hole (measured: recall on LMDB
/// fell from 96.3% to 93.0%).
pub(super) fn broken_spans(root: Node<'_>, source: &[u8]) -> Vec<TsRange> {
    // A parse without an error has no break (and most files are spared the walk).
    if !root.has_error() {
        return Vec::new();
    }
    let mut spans: Vec<TsRange> = Vec::new();
    let mut cursor = root.walk();
    let mut open = false;
    // The last function read, while only comments and directives follow it.
    let mut last_function: Option<Node<'_>> = None;
    // Functions left open (inside a conditional at the top level too: SQLite's os_win.c).
    let mut swallowing: Vec<TsRange> = Vec::new();
    for child in root.children(&mut cursor) {
        if stray(child, source) {
            match (open, spans.last_mut()) {
                (true, Some(span)) => {
                    span.end_byte = child.end_byte();
                    span.end_point = child.end_position();
                }
                // A run right after a function: that function was cut short by the break.
                _ => spans.push(TsRange {
                    end_byte: child.end_byte(),
                    end_point: child.end_position(),
                    ..last_function.unwrap_or(child).range()
                }),
            }
            open = true;
            last_function = None;
        } else if is_conditional(child) {
            swallowing_in(child, &mut swallowing);
            last_function = None;
        } else if swallows(child) {
            // Open to far below its end: a break, from the function to where the parser
            // closed it (`read_with_breaks` reads what follows the function again).
            swallowing.push(child.range());
            open = false;
            last_function = None;
        } else if child.kind() == "function_definition" {
            open = false;
            last_function = Some(child);
        } else if !matches!(child.kind(), "comment" | "preproc_call") {
            last_function = None;
        }
    }
    // A run of stray pieces may reach over a conditional: what it covers is read with it.
    swallowing.retain(|inner| {
        !spans
            .iter()
            .any(|span| span.start_byte <= inner.start_byte && inner.end_byte <= span.end_byte)
    });
    spans.extend(swallowing);
    spans.sort_by_key(|span| span.start_byte);
    spans
}

fn is_conditional(node: Node<'_>) -> bool {
    matches!(
        node.kind(),
        "preproc_if" | "preproc_ifdef" | "preproc_else" | "preproc_elif" | "preproc_elifdef"
    )
}

/// The functions that swallow what follows them (`swallows`) in the conditional `node`
/// and the conditionals in it, into `found`.
fn swallowing_in(node: Node<'_>, found: &mut Vec<TsRange>) {
    let mut stack = vec![node];
    // Bounded by the conditionals' nodes: each is pushed once.
    while let Some(at) = stack.pop() {
        let mut cursor = at.walk();
        for child in at.children(&mut cursor) {
            if swallows(child) {
                found.push(child.range());
            } else if is_conditional(child) {
                stack.push(child);
            }
        }
    }
}

/// Whether `node` is a function that holds another function's definition in its body: C
/// has no nested functions, so a block the preprocessor opened twice (`#if X if (a) {
/// #else { #endif`, SQLite's `winWrite`) left it open and the parser read the definitions
/// after it as nested in it. Only statements are walked (expressions, most of a body's
/// nodes, cannot hold a definition), so a C++ local class's methods, in its field list, do
/// not count.
fn swallows(node: Node<'_>) -> bool {
    if node.kind() != "function_definition" {
        return false;
    }
    let Some(body) = node.child_by_field_name("body") else { return false };
    let mut stack = vec![body];
    // Bounded by the body's statement nodes: each is pushed once.
    while let Some(at) = stack.pop() {
        let mut cursor = at.walk();
        for child in at.children(&mut cursor) {
            match child.kind() {
                "function_definition" => return true,
                "compound_statement" | "preproc_if" | "preproc_ifdef" | "preproc_else"
                | "preproc_elif" | "preproc_elifdef" | "if_statement" | "else_clause"
                | "while_statement" | "for_statement" | "do_statement" | "switch_statement"
                | "case_statement" | "labeled_statement" | "ERROR" => stack.push(child),
                _ => {}
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_conditionals_are_known_but_the_include_guard() {
        let header = b"#ifndef X_H\n#define X_H\n#define A 1\n#ifdef WIN\n#define B 2\n#endif\nint c;\n#endif\n";
        let lines = conditional_lines(header);
        assert_eq!(&lines[1..8], [false, false, true, true, false, false, false]);
        // A first #ifndef closed before the file's last directive guards nothing.
        let plain = conditional_lines(b"#ifndef Y\n#define Z 1\n#endif\n#define W 2\n");
        assert_eq!(&plain[1..4], [true, false, false]);
        // A guard nested in another file's (the SQLite amalgamation) is still a guard.
        let nested = conditional_lines(
            b"#ifndef ALL\n#define A 1\n#ifndef H\n#define H\n#define B 2\n#endif\n#endif\n",
        );
        assert_eq!(&nested[1..6], [false, false, false, false, false]);
    }

    #[test]
    fn later_branches_are_blanked_byte_for_byte() {
        let source = b"int f(int a) {\n#ifdef X\n  if (a) { return 1; }\n#else\n  if (a) { return 2; }\n#endif\n  else { return 3; }\n}\n";
        let blanked = first_branches(source);
        assert_eq!(blanked.len(), source.len());
        let text = String::from_utf8(blanked).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "  if (a) { return 1; }");
        assert!(lines[1..6].iter().enumerate().all(|(i, l)| i == 1 || l.trim().is_empty()));
        assert_eq!(lines[6], "  else { return 3; }");
        // A conditional nested in a blanked branch is blanked whole; #define lines stay.
        let nested = first_branches(
            b"#if A\na();\n#else\n#if B\nb();\n#endif\nc();\n#endif\n#define D 1\nd();\n",
        );
        let text = String::from_utf8(nested).unwrap();
        let kept: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert_eq!(kept, ["a();", "#define D 1", "d();"]);
    }
}
