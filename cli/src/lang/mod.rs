//! The parsing layer: source text in, definitions and references out. Knows nothing of the
//! store. Each language is one module that classifies tree-sitter nodes; the walk, the scope
//! stack and the line numbers are shared here.

mod c;
mod cpp;
mod go;
mod javascript;
mod preproc;
mod python;
mod rust;

use std::path::Path;
use tree_sitter::{Node, Parser};

/// A language the indexer parses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    C,
    Cpp,
    Rust,
    Python,
    Go,
    JavaScript,
    TypeScript,
    /// TypeScript with JSX (`.tsx`): its own grammar.
    Tsx,
}

impl Lang {
    /// The language of a file, from its extension.
    pub fn of_path(path: &Path) -> Option<Lang> {
        match path.extension()?.to_str()? {
            // A `.h` header is read as C: C++ headers are found by their own extensions.
            "c" | "h" => Some(Lang::C),
            "cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" => Some(Lang::Cpp),
            "rs" => Some(Lang::Rust),
            "py" => Some(Lang::Python),
            "go" => Some(Lang::Go),
            "js" | "mjs" | "cjs" | "jsx" => Some(Lang::JavaScript),
            "ts" | "mts" | "cts" => Some(Lang::TypeScript),
            "tsx" => Some(Lang::Tsx),
            _ => None,
        }
    }

    /// The name stored in metadata (`lang`).
    pub fn name(self) -> &'static str {
        match self {
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Go => "go",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
        }
    }

    /// Every language, for reading a name back.
    pub const ALL: [Lang; 8] = [
        Lang::C,
        Lang::Cpp,
        Lang::Rust,
        Lang::Python,
        Lang::Go,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
    ];

    /// The language a metadata `lang` names.
    pub fn named(name: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|lang| lang.name() == name)
    }

    fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        }
    }

    /// Whether `name` is an object the language's runtime defines everywhere without an
    /// import (JavaScript's `console`, `Math`): calls on it are external.
    pub fn global_object(self, name: &str) -> bool {
        match self {
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
                javascript::GLOBAL_OBJECTS.contains(&name)
            }
            _ => false,
        }
    }

    /// The separator of qualified names (`a::b`, `a.b`).
    pub fn separator(self) -> &'static str {
        match self {
            Lang::C | Lang::Cpp | Lang::Rust => "::",
            Lang::Python | Lang::Go | Lang::JavaScript | Lang::TypeScript | Lang::Tsx => ".",
        }
    }
}

/// What a definition is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Function,
    Method,
    Struct,
    Union,
    Enum,
    Trait,
    Interface,
    Class,
    TypeAlias,
    Macro,
    Module,
}

impl Kind {
    /// The name stored in metadata (`kind`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Function => "function",
            Kind::Method => "method",
            Kind::Struct => "struct",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::Trait => "trait",
            Kind::Interface => "interface",
            Kind::Class => "class",
            Kind::TypeAlias => "type_alias",
            Kind::Macro => "macro",
            Kind::Module => "module",
        }
    }
}

/// One definition in a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub kind: Kind,
    pub name: String,
    /// The names of the enclosing modules, types and impls, then the name.
    pub qualified_name: String,
    /// 1-based, inclusive.
    pub line_start: usize,
    pub line_end: usize,
    /// Byte range of the definition's text.
    pub bytes: std::ops::Range<usize>,
    /// The first line of the definition, up to its body.
    pub signature: String,
    /// For a method: the type it belongs to (its impl or class).
    pub owner: Option<String>,
    /// The definition this one is nested in (index into `ParsedFile::definitions`).
    pub parent: Option<usize>,
    /// Inside an `#if`/`#ifdef` branch (C and C++ macros only): one configuration's
    /// definition, often a shim standing in for a function of the same name elsewhere.
    pub conditional: bool,
}

/// How a call names its callee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `f(x)`, `path::f(x)`.
    Function,
    /// `x.f()`, `x->f()` through a receiver.
    Method,
    /// A macro invocation (`f!(x)`), or a call the syntax cannot tell apart.
    Unknown,
}

/// A call inside a definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The callee's last name (`f` in `a::b::f`).
    pub name: String,
    /// What the call puts before the name, when it names a type or module: `b` in
    /// `a::b::f()`, `x` in `x.f()` (Python), `self` for a call on the caller's own type.
    pub qualifier: Option<String>,
    pub kind: CallKind,
    /// The calling definition (index into `ParsedFile::definitions`); `None` at file level.
    pub caller: Option<usize>,
    /// 1-based line of the call.
    pub line: usize,
}

/// An import of another file or module.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// As written: `"util.h"`, `crate::store`, `os.path`.
    pub target: String,
    /// A quoted include (`#include "x.h"`), as opposed to a system one (`<x.h>`).
    pub local: bool,
    /// The name the import binds to the module in the file (`np` for `import numpy as np`,
    /// `http` for Go's `"net/http"`), through which calls then name it: `np.array()`.
    pub binds: Option<String>,
    pub line: usize,
}

/// Everything the indexer keeps of one file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedFile {
    pub definitions: Vec<Definition>,
    pub calls: Vec<Call>,
    pub imports: Vec<Import>,
    /// Types a definition names (in its signature or body), once per definition and type.
    pub references: Vec<Reference>,
    /// Types that extend or implement others, as the syntax states it.
    pub inherits: Vec<Inherit>,
    pub lines: usize,
}

/// `ty` extends (or implements) `base`: a class's bases, `impl Trait for Type`.
#[derive(Clone, Debug, PartialEq)]
pub struct Inherit {
    /// The type's name (a definition of this file, for the indexer to find).
    pub ty: String,
    pub base: String,
    /// `implements` an interface or trait, rather than `extends` a class.
    pub implements: bool,
}

/// A definition's use of a type by name.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub name: String,
    /// The definition it is in (index into `ParsedFile::definitions`); `None` at file level.
    pub from: Option<usize>,
    pub line: usize,
}

/// What a language module says about one node.
enum Found {
    /// A definition: its kind, the node holding its name, the owner type for a method.
    Definition {
        kind: Kind,
        name: String,
        owner: Option<String>,
    },
    /// A scope that names definitions inside it without being one (a Rust `impl`), and
    /// the trait it implements for that type, if any.
    Scope {
        name: String,
        implements: Option<String>,
    },
    Call {
        name: String,
        qualifier: Option<String>,
        kind: CallKind,
    },
    Import {
        target: String,
        local: bool,
        binds: Option<String>,
    },
    /// A use of a type by name (`type_identifier` in C, C++, Rust, Go and TypeScript).
    Reference {
        name: String,
    },
    Nothing,
}

/// Parses `source` as `lang`. A syntax error does not stop it: tree-sitter recovers, and
/// what it could read is kept. C and C++ stretches the preprocessor split beyond the
/// parser's recovery are read again in their first configuration (see `preproc`).
pub fn parse(lang: Lang, source: &[u8]) -> ParsedFile {
    let mut parser = Parser::new();
    if parser.set_language(&lang.grammar()).is_err() {
        return ParsedFile::default();
    }
    let Some(tree) = parser.parse(source, None) else {
        return ParsedFile::default();
    };
    let conditional_lines = match lang {
        Lang::C | Lang::Cpp => preproc::conditional_lines(source),
        _ => Vec::new(),
    };
    let mut walk = Walk {
        lang,
        source,
        file: ParsedFile {
            lines: source.iter().filter(|&&b| b == b'\n').count() + 1,
            ..ParsedFile::default()
        },
        scopes: Vec::new(),
        conditional_lines,
        skip_macros: false,
        skipped: Vec::new(),
    };
    let root = tree.root_node();
    let spans = match lang {
        Lang::C | Lang::Cpp => preproc::broken_spans(root, source),
        _ => Vec::new(),
    };
    if spans.is_empty() {
        walk.visit(root);
        return walk.file;
    }
    walk.read_with_breaks(root, &spans, &mut parser);
    walk.file
}

/// How many breaks deep a stretch after a broken function is read again as written (each
/// level a parse of what is left of the stretch); below that, the rest is read in one
/// configuration.
const BREAKS_NESTED_MAX: usize = 64;

/// `text` parsed within `range` only (positions stay the file's).
fn parse_range(
    parser: &mut Parser,
    text: &[u8],
    range: tree_sitter::Range,
) -> Option<tree_sitter::Tree> {
    parser.set_included_ranges(&[range]).ok()?;
    parser.parse(text, None)
}

/// What of `span` follows the first function of its parse again (`root`), if it has one
/// and anything follows it.
fn after_first_function(root: Node<'_>, span: tree_sitter::Range) -> Option<tree_sitter::Range> {
    let mut cursor = root.walk();
    let function = root.children(&mut cursor).find(|c| c.kind() == "function_definition")?;
    let rest = tree_sitter::Range {
        start_byte: function.end_byte(),
        start_point: function.end_position(),
        ..span
    };
    (rest.start_byte < rest.end_byte).then_some(rest)
}

/// An enclosing scope during the walk.
struct Scope {
    name: String,
    /// The definition it is, if it is one (an `impl` is not).
    definition: Option<usize>,
    /// The owner a method defined here belongs to.
    owner: Option<String>,
}

struct Walk<'s> {
    lang: Lang,
    source: &'s [u8],
    file: ParsedFile,
    scopes: Vec<Scope>,
    /// Per line (0-based), whether it lies in a preprocessor conditional (C and C++).
    conditional_lines: Vec<bool>,
    /// Macro definitions are not read (a stretch parsed again in one configuration: its
    /// macros were read, of every configuration, from the first parse).
    skip_macros: bool,
    /// Broken functions the tree being visited holds inside a conditional (see
    /// `preproc::broken_spans`): read again on their own, so a visit reads only their macros.
    skipped: Vec<tree_sitter::Range>,
}

impl Walk<'_> {
    /// Depth-first over the tree with an explicit stack of (node, scopes to pop on leave),
    /// so deep nesting cannot overflow the call stack.
    fn visit(&mut self, root: Node<'_>) {
        let mut cursor = root.walk();
        let mut entered: Vec<bool> = Vec::new();
        loop {
            let node = cursor.node();
            if self.is_skipped(node) {
                self.visit_macros(node);
                entered.push(false);
            } else {
                let pushed = self.enter(node);
                entered.push(pushed);
                if cursor.goto_first_child() {
                    continue;
                }
            }
            loop {
                if entered.pop() == Some(true) {
                    self.scopes.pop();
                }
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
            }
        }
    }

    /// Whether `node` is a broken function read again on its own (`skipped`).
    fn is_skipped(&self, node: Node<'_>) -> bool {
        !self.skipped.is_empty()
            && node.kind() == "function_definition"
            && self.skipped.iter().any(|span| *span == node.range())
    }

    /// Records what `node` is; returns whether it opened a scope.
    fn enter(&mut self, node: Node<'_>) -> bool {
        let found = match self.lang {
            Lang::C => c::classify(node, self.source),
            Lang::Cpp => cpp::classify(node, self.source),
            Lang::Rust => rust::classify(node, self.source),
            Lang::Python => python::classify(node, self.source),
            Lang::Go => go::classify(node, self.source),
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
                javascript::classify(node, self.source)
            }
        };
        let line = node.start_position().row + 1;
        let found = match found {
            Found::Definition { kind: Kind::Macro, .. } if self.skip_macros => Found::Nothing,
            found => found,
        };
        match found {
            Found::Definition { kind, name, owner } => {
                for (base, implements) in bases(self.lang, node, self.source) {
                    self.file.inherits.push(Inherit { ty: name.clone(), base, implements });
                }
                let index = self.define(node, kind, name.clone(), owner);
                if kind == Kind::Macro {
                    self.read_macro_body(node, index);
                }
                let owner = matches!(
                    kind,
                    Kind::Struct | Kind::Class | Kind::Trait | Kind::Interface | Kind::Enum
                )
                .then(|| name.clone());
                self.scopes.push(Scope { name, definition: Some(index), owner });
                true
            }
            Found::Scope { name, implements } => {
                if let Some(base) = implements {
                    self.file.inherits.push(Inherit { ty: name.clone(), base, implements: true });
                }
                self.scopes.push(Scope { name: name.clone(), definition: None, owner: Some(name) });
                true
            }
            Found::Call { name, qualifier, kind } => {
                let caller = self.scopes.iter().rev().find_map(|scope| scope.definition);
                self.file.calls.push(Call { name, qualifier, kind, caller, line });
                false
            }
            Found::Import { target, local, binds } => {
                self.file.imports.push(Import { target, local, binds, line });
                false
            }
            Found::Reference { name } => {
                let from = self.scopes.iter().rev().find_map(|scope| scope.definition);
                // A type's own name inside its definition is not a use of it.
                let own = from
                    .and_then(|index| self.file.definitions.get(index))
                    .is_some_and(|d| d.name == name);
                let seen = self.file.references.iter().any(|r| r.from == from && r.name == name);
                if !own && !seen {
                    self.file.references.push(Reference { name, from, line });
                }
                false
            }
            Found::Nothing => false,
        }
    }

    /// Reads a C or C++ file whose parse broke in `spans`: what lies outside them as parsed;
    /// inside them, macro definitions as parsed (every configuration's) and the rest parsed
    /// again, stretch by stretch, in one configuration (`preproc::first_branches_of`), with
    /// positions and the bytes of what is read the file's.
    fn read_with_breaks(
        &mut self,
        root: Node<'_>,
        spans: &[tree_sitter::Range],
        parser: &mut Parser,
    ) {
        self.visit_outside(root, spans);
        self.skip_macros = true;
        self.read_spans_again(spans, parser, BREAKS_NESTED_MAX);
        self.skip_macros = false;
    }

    /// `read_span_again` for each of `spans`, with their first configuration made once.
    fn read_spans_again(
        &mut self,
        spans: &[tree_sitter::Range],
        parser: &mut Parser,
        depth: usize,
    ) {
        let stretches = preproc::first_branches_of(self.source, spans);
        for span in spans {
            self.read_span_again(*span, &stretches, parser, depth);
        }
    }

    /// Reads a broken stretch again: its first function in one configuration (that parse
    /// finds where the function ends), and what follows the function as written, with the
    /// breaks that has read the same way (at most `depth` deep; then the rest too in one
    /// configuration). Read whole in one configuration, the definitions after a function
    /// the parser left open lost every other branch (SQLite: 425 functions after
    /// `winWrite`).
    fn read_span_again(
        &mut self,
        span: tree_sitter::Range,
        stretches: &[u8],
        parser: &mut Parser,
        depth: usize,
    ) {
        let Some(again) = parse_range(parser, stretches, span) else { return };
        let again_root = again.root_node();
        let rest = (depth > 0).then(|| after_first_function(again_root, span)).flatten();
        let mut cursor = again_root.walk();
        for child in again_root.children(&mut cursor) {
            if rest.is_none_or(|rest| child.start_byte() < rest.start_byte) {
                self.visit(child);
            }
        }
        let Some(rest) = rest else { return };
        let Some(written) = parse_range(parser, self.source, rest) else { return };
        let written_root = written.root_node();
        let breaks = preproc::broken_spans(written_root, self.source);
        self.visit_outside(written_root, &breaks);
        if !breaks.is_empty() {
            self.read_spans_again(&breaks, parser, depth - 1);
        }
    }

    /// Visits `root`'s children but what lies in `breaks` (read again on their own): of a
    /// child in a break, and of a broken function inside a conditional, only the macros.
    fn visit_outside(&mut self, root: Node<'_>, breaks: &[tree_sitter::Range]) {
        let within = |node: Node<'_>| {
            breaks.iter().any(|b| (b.start_byte..b.end_byte).contains(&node.start_byte()))
        };
        self.skipped = breaks.to_vec();
        let mut cursor = root.walk();
        for child in root.children(&mut cursor) {
            if within(child) {
                self.visit_macros(child);
            } else {
                self.visit(child);
            }
        }
        self.skipped.clear();
    }

    /// Visits the macro definitions under `node` (and nothing else); nothing while macros
    /// are skipped (a stretch read again: its macros were read from the first parse).
    fn visit_macros(&mut self, node: Node<'_>) {
        if self.skip_macros {
            return;
        }
        let mut stack = vec![node];
        // Bounded by the subtree's nodes: each is pushed once.
        while let Some(at) = stack.pop() {
            if matches!(at.kind(), "preproc_def" | "preproc_function_def") {
                self.visit(at);
                continue;
            }
            let mut cursor = at.walk();
            let children: Vec<Node<'_>> = at.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
    }

    /// The calls and type uses written in a C or C++ macro's body
    /// (`#define CHECK(x) check_fn(x, __LINE__)`): the grammar keeps the body as text, so
    /// it is parsed on its own, as a function's body, and what it holds is the macro's.
    fn read_macro_body(&mut self, node: Node<'_>, index: usize) {
        let Some(value) = node.child_by_field_name("value") else { return };
        let body = &self.source[value.byte_range()];
        let mut wrapped = b"void m(void) {\n".to_vec();
        wrapped.extend_from_slice(body);
        wrapped.extend_from_slice(b"\n;}\n");
        let inner = parse(self.lang, &wrapped);
        // The body starts on the wrapper's second line.
        let line = |inner_line: usize| value.start_position().row + inner_line.saturating_sub(1);
        for call in inner.calls {
            self.file.calls.push(Call { caller: Some(index), line: line(call.line), ..call });
        }
        let own = &self.file.definitions[index].name;
        for reference in inner.references {
            let seen = self
                .file
                .references
                .iter()
                .any(|r| r.from == Some(index) && r.name == reference.name);
            if !seen && reference.name != *own {
                let line = line(reference.line);
                self.file.references.push(Reference { from: Some(index), line, ..reference });
            }
        }
    }

    fn define(&mut self, node: Node<'_>, kind: Kind, name: String, owner: Option<String>) -> usize {
        let separator = self.lang.separator();
        let mut qualified: Vec<&str> =
            self.scopes.iter().map(|scope| scope.name.as_str()).collect();
        // A method defined outside its type (Go receivers, C++ `T::f`) is qualified by it.
        if let Some(owner) = owner.as_deref().filter(|owner| qualified.last() != Some(owner)) {
            qualified.push(owner);
        }
        qualified.push(&name);
        let qualified_name = qualified.join(separator);
        let owner = owner.or_else(|| self.scopes.last().and_then(|scope| scope.owner.clone()));
        let kind = match (kind, &owner) {
            (Kind::Function, Some(_)) => Kind::Method,
            (kind, _) => kind,
        };
        let parent = self.scopes.iter().rev().find_map(|scope| scope.definition);
        let definition = Definition {
            kind,
            qualified_name,
            name,
            line_start: node.start_position().row + 1,
            line_end: last_line(node),
            bytes: node.byte_range(),
            signature: signature(&self.source[node.byte_range()]),
            owner,
            parent,
            conditional: kind == Kind::Macro
                && self.conditional_lines.get(node.start_position().row).copied().unwrap_or(false),
        };
        self.file.definitions.push(definition);
        self.file.definitions.len() - 1
    }
}

/// The last line `node` covers (1-based). A node that ends at the start of a line ends on
/// the line before: a C `#define` takes its newline, and counted to the next line it
/// overlapped the macro defined there (`kausal show h.h:N` named the one above).
fn last_line(node: Node<'_>) -> usize {
    let (start, end) = (node.start_position(), node.end_position());
    let row = if end.column == 0 && end.row > start.row { end.row - 1 } else { end.row };
    row + 1
}

/// The bases a class definition names: Python `class A(B)`, C++ `class A : public B`,
/// TypeScript/JavaScript `class A extends B implements C`. `(name, implements)`.
fn bases(lang: Lang, node: Node<'_>, source: &[u8]) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    let mut cursor = node.walk();
    let clauses: Vec<Node<'_>> = match (lang, node.kind()) {
        (Lang::Python, "class_definition") => {
            node.child_by_field_name("superclasses").into_iter().collect()
        }
        (Lang::Cpp, "class_specifier" | "struct_specifier") => {
            node.children(&mut cursor).filter(|c| c.kind() == "base_class_clause").collect()
        }
        (
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx,
            "class_declaration" | "abstract_class_declaration",
        ) => node.children(&mut cursor).filter(|c| c.kind() == "class_heritage").collect(),
        _ => Vec::new(),
    };
    for clause in clauses {
        let mut inner = clause.walk();
        let mut stack: Vec<Node<'_>> = clause.named_children(&mut inner).collect();
        // Bounded by the clause's nodes: each is visited once.
        while let Some(child) = stack.pop() {
            match child.kind() {
                "identifier" | "type_identifier" => {
                    let implements =
                        child.parent().is_some_and(|p| p.kind() == "implements_clause");
                    found.push((text(child, source), implements));
                }
                "extends_clause" | "implements_clause" => {
                    let mut walk = child.walk();
                    stack.extend(child.named_children(&mut walk));
                }
                _ => {}
            }
        }
    }
    found.reverse();
    found
}

/// The text of a node.
fn text(node: Node<'_>, source: &[u8]) -> String {
    String::from_utf8_lossy(&source[node.byte_range()]).into_owned()
}

/// A call of a plain name (`f(x)`): `node` is the name.
fn call_of(node: Node<'_>, source: &[u8]) -> Found {
    Found::Call { name: text(node, source), qualifier: None, kind: CallKind::Function }
}

/// A call whose callee's name is `field` of `node` (`x.f()`, `a::f()`), if it has one.
fn member_call(
    node: Node<'_>,
    field: &str,
    source: &[u8],
    qualifier: Option<String>,
    kind: CallKind,
) -> Found {
    field_text(node, field, source).map_or(Found::Nothing, |name| Found::Call {
        name,
        qualifier,
        kind,
    })
}

/// A definition of `kind` named by `node`'s `name` field, owned by no type (a method's
/// owner comes from its enclosing scope); nothing if it has no name.
fn named(node: Node<'_>, kind: Kind, source: &[u8]) -> Found {
    field_text(node, "name", source).map_or(Found::Nothing, |name| Found::Definition {
        kind,
        name,
        owner: None,
    })
}

/// The text of a node's field, if it has it.
fn field_text(node: Node<'_>, field: &str, source: &[u8]) -> Option<String> {
    node.child_by_field_name(field).map(|child| text(child, source))
}

/// Longest signature kept, in bytes.
const SIGNATURE_BYTES_MAX: usize = 240;

/// A definition's signature: its text up to the body (the first `{` or `:` line end), on
/// one line, whitespace collapsed.
fn signature(definition: &[u8]) -> String {
    let text = String::from_utf8_lossy(definition);
    let head = match text.find('{') {
        Some(at) => &text[..at],
        None => text.lines().next().unwrap_or(""),
    };
    let mut signature = head.split_whitespace().collect::<Vec<_>>().join(" ");
    if signature.len() > SIGNATURE_BYTES_MAX {
        let mut cut = SIGNATURE_BYTES_MAX;
        while !signature.is_char_boundary(cut) {
            cut -= 1;
        }
        signature.truncate(cut);
        signature.push('…');
    }
    signature
}

#[cfg(test)]
mod tests;
