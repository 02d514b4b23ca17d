use super::*;

fn names(file: &ParsedFile) -> Vec<(&str, &str, Option<&str>)> {
    file.definitions
        .iter()
        .map(|d| (d.kind.name(), d.qualified_name.as_str(), d.owner.as_deref()))
        .collect()
}

fn sorted_names(file: &ParsedFile) -> Vec<(&str, &str, Option<&str>)> {
    let mut defined = names(file);
    defined.sort_unstable();
    defined
}

fn calls(file: &ParsedFile) -> Vec<(Option<&str>, &str)> {
    file.calls
        .iter()
        .map(|c| (c.caller.map(|i| file.definitions[i].name.as_str()), c.name.as_str()))
        .collect()
}

#[test]
fn c_definitions_calls_and_includes() {
    let source = br#"#include "util.h"
#include <stdio.h>
#define MAX(a, b) ((a) > (b) ? (a) : (b))
struct point { int x, y; };
typedef struct point point_t;
static int *helper(int n) { return 0; }
int prototype_only(int);
int main(void) {
    helper(MAX(1, 2));
    printf("%d\n", 1);
    ops->run(1);
    return 0;
}
"#;
    let file = parse(Lang::C, source);
    assert_eq!(
        names(&file),
        [
            ("macro", "MAX", None),
            ("struct", "point", None),
            ("type_alias", "point_t", None),
            ("function", "helper", None),
            ("function", "main", None),
        ]
    );
    assert_eq!(
        calls(&file),
        [
            (Some("main"), "helper"),
            (Some("main"), "MAX"),
            (Some("main"), "printf"),
            (Some("main"), "run")
        ]
    );
    assert_eq!(file.calls[3].kind, CallKind::Method);
    let imports: Vec<_> = file.imports.iter().map(|i| (i.target.as_str(), i.local)).collect();
    assert_eq!(imports, [("util.h", true), ("stdio.h", false)]);
    let helper = &file.definitions[3];
    assert_eq!((helper.line_start, helper.line_end), (6, 6));
    assert_eq!(helper.signature, "static int *helper(int n)");
    // A macro's body is read for calls and types, continued lines and all.
    let macros = parse(
        Lang::C,
        b"#define NODE(p) ((struct node *)lookup(p))\n#define LOG(x) \\\n    do { write_log(x); } while (0)\n",
    );
    let calls: Vec<_> = macros.calls.iter().map(|c| (c.caller, c.name.as_str(), c.line)).collect();
    assert_eq!(calls, [(Some(0), "lookup", 1), (Some(1), "write_log", 3)]);
    // A `#define` node takes its newline, so it ends at the start of the next line: its
    // lines are its own (`kausal show x.h:2` names the second of two adjacent macros).
    let lines: Vec<_> =
        macros.definitions.iter().map(|d| (d.name.as_str(), d.line_start, d.line_end)).collect();
    assert_eq!(lines, [("NODE", 1, 1), ("LOG", 2, 3)]);
    let uses: Vec<_> = macros.references.iter().map(|r| (r.from, r.name.as_str())).collect();
    assert_eq!(uses, [(Some(0), "node")]);
    // A macro in one branch of `#ifdef` is conditional; one under the include guard is not.
    let shim = parse(
        Lang::C,
        b"#ifndef X_H\n#define X_H\n#define A 1\n#ifdef _WIN32\n#define getpid() GetCurrentProcessId()\n#endif\n#endif\n",
    );
    let conditional: Vec<_> =
        shim.definitions.iter().map(|d| (d.name.as_str(), d.conditional)).collect();
    assert_eq!(conditional, [("A", false), ("getpid", true)]);
    // An include guard is no macro; a value-less `#define` of another name is.
    let header = parse(Lang::C, b"#ifndef UTIL_H\n#define UTIL_H\n#define DEBUG\n#endif\n");
    assert_eq!(names(&header), [("macro", "DEBUG", None)]);
}

#[test]
fn rust_methods_belong_to_their_impl_type() {
    let source = br#"use crate::store::Store;
mod tests;
pub struct Index { n: u32 }
impl<'a> Index {
    pub fn add(&mut self) { self.bump(); helper::<u8>(); crate::util::log("x"); }
    fn bump(&mut self) { println!("{}", 1); }
}
trait Walk { fn step(&self); }
fn helper<T>() {}
mod inner { pub fn deep() {} }
"#;
    let file = parse(Lang::Rust, source);
    assert_eq!(
        names(&file),
        [
            ("struct", "Index", None),
            ("method", "Index::add", Some("Index")),
            ("method", "Index::bump", Some("Index")),
            ("trait", "Walk", None),
            ("method", "Walk::step", Some("Walk")),
            ("function", "helper", None),
            ("module", "inner", None),
            ("function", "inner::deep", None),
        ]
    );
    assert_eq!(
        calls(&file),
        [
            (Some("add"), "bump"),
            (Some("add"), "helper"),
            (Some("add"), "log"),
            (Some("bump"), "println")
        ]
    );
    let imports: Vec<_> = file.imports.iter().map(|i| (i.target.as_str(), i.local)).collect();
    assert_eq!(imports, [("crate::store::Store", true), ("tests", true)]);
}

#[test]
fn python_classes_methods_and_imports() {
    let source = b"import os\nfrom .util import helper\n\nclass Parser:\n    def parse(self, text):\n        return self.tokenize(helper(text))\n\n    def tokenize(self, text):\n        return os.path.split(text)\n\ndef main():\n    Parser().parse('x')\n";
    let file = parse(Lang::Python, source);
    assert_eq!(
        names(&file),
        [
            ("class", "Parser", None),
            ("method", "Parser.parse", Some("Parser")),
            ("method", "Parser.tokenize", Some("Parser")),
            ("function", "main", None),
        ]
    );
    assert_eq!(
        calls(&file),
        [
            (Some("parse"), "tokenize"),
            (Some("parse"), "helper"),
            (Some("tokenize"), "split"),
            (Some("main"), "parse"),
            (Some("main"), "Parser"),
        ]
    );
    let imports: Vec<_> = file.imports.iter().map(|i| (i.target.as_str(), i.local)).collect();
    assert_eq!(imports, [("os", false), (".util", true)]);
    // Each module of one `import`, with the name it binds in the file.
    let file = parse(
        Lang::Python,
        b"import os.path, numpy as np
from . import sibling
",
    );
    let bound: Vec<_> =
        file.imports.iter().map(|i| (i.target.as_str(), i.binds.as_deref())).collect();
    assert_eq!(bound, [("os.path", Some("os")), ("numpy", Some("np")), (".", None)]);
}

#[test]
fn cpp_classes_namespaces_and_methods_defined_outside_their_class() {
    let source = br#"#include "parser.hpp"
namespace text {
class Parser {
public:
    int parse(const char *s) { return tokenize(s); }
    int tokenize(const char *s);
};
int Parser::tokenize(const char *s) { return helper(s) + this->count(); }
}
int main() { text::Parser p; return text::run(); }
"#;
    let file = parse(Lang::Cpp, source);
    assert_eq!(
        names(&file),
        [
            ("module", "text", None),
            ("class", "text::Parser", None),
            ("method", "text::Parser::parse", Some("Parser")),
            ("method", "text::Parser::tokenize", Some("Parser")),
            ("function", "main", None),
        ]
    );
    assert_eq!(
        calls(&file),
        [
            (Some("parse"), "tokenize"),
            (Some("tokenize"), "helper"),
            (Some("tokenize"), "count"),
            (Some("main"), "run")
        ]
    );
    let qualifiers: Vec<_> = file.calls.iter().map(|c| c.qualifier.as_deref()).collect();
    assert_eq!(qualifiers, [None, None, Some("self"), Some("text")]);
    // Macros as C reads them: a header's include guard is none; a macro's body is read.
    let header =
        parse(Lang::Cpp, b"#ifndef P_HPP\n#define P_HPP\n#define RUN() text::run()\n#endif\n");
    assert_eq!(names(&header), [("macro", "RUN", None)]);
    assert_eq!(calls(&header), [(Some("RUN"), "run")]);
}

#[test]
fn go_methods_belong_to_their_receiver_type() {
    let source = br#"package store
import (
    "fmt"
    "example.com/app/util"
)
type Store struct { names []string }
type Reader interface { Read() string }
type ID = int
func New() *Store { return &Store{} }
func (s *Store) Put(name string) { s.check(name); fmt.Println(util.Clean(name)) }
func (s Store) check(name string) {}
"#;
    let file = parse(Lang::Go, source);
    assert_eq!(
        names(&file),
        [
            ("struct", "Store", None),
            ("interface", "Reader", None),
            ("type_alias", "ID", None),
            ("function", "New", None),
            ("method", "Store.Put", Some("Store")),
            ("method", "Store.check", Some("Store")),
        ]
    );
    assert_eq!(
        calls(&file),
        [(Some("Put"), "check"), (Some("Put"), "Println"), (Some("Put"), "Clean")]
    );
    let imports: Vec<_> =
        file.imports.iter().map(|i| (i.target.as_str(), i.binds.as_deref())).collect();
    assert_eq!(imports, [("fmt", Some("fmt")), ("example.com/app/util", Some("util"))]);
    let aliased = parse(Lang::Go, b"package p\nimport f \"fmt\"\n");
    assert_eq!(aliased.imports[0].binds.as_deref(), Some("f"));
}

#[test]
fn javascript_and_typescript_functions_classes_and_imports() {
    let source = br#"import { helper } from './util';
import React from 'react';
export function main() { return new Parser().parse(helper()); }
const run = (x) => main(x);
class Parser {
  parse(text) { return this.tokenize(text); }
  tokenize(text) { return text.split(' '); }
}
"#;
    let file = parse(Lang::JavaScript, source);
    assert_eq!(
        names(&file),
        [
            ("function", "main", None),
            ("function", "run", None),
            ("class", "Parser", None),
            ("method", "Parser.parse", Some("Parser")),
            ("method", "Parser.tokenize", Some("Parser")),
        ]
    );
    assert_eq!(
        calls(&file),
        [
            (Some("main"), "parse"),
            (Some("main"), "Parser"),
            (Some("main"), "helper"),
            (Some("run"), "main"),
            (Some("parse"), "tokenize"),
            (Some("tokenize"), "split"),
        ]
    );
    let imports: Vec<_> = file.imports.iter().map(|i| (i.target.as_str(), i.local)).collect();
    assert_eq!(imports, [("./util", true), ("react", false)]);
    // A default or namespace import binds the module; named imports bind its members.
    let bound: Vec<_> = file.imports.iter().map(|i| i.binds.as_deref()).collect();
    assert_eq!(bound, [None, Some("React")]);
    let namespace = parse(Lang::JavaScript, b"import * as fs from 'fs';\n");
    assert_eq!(namespace.imports[0].binds.as_deref(), Some("fs"));
    let typescript = b"interface Shape { area(): number }\ntype Id = string;\nenum Color { Red }\nclass Square implements Shape { area(): number { return side(); } }\n";
    let file = parse(Lang::TypeScript, typescript);
    assert_eq!(
        names(&file),
        [
            ("interface", "Shape", None),
            ("type_alias", "Id", None),
            ("enum", "Color", None),
            ("class", "Square", None),
            ("method", "Square.area", Some("Square")),
        ]
    );
    let tsx = parse(Lang::Tsx, b"export function App() { return <div>{render()}</div>; }\n");
    assert_eq!(calls(&tsx), [(Some("App"), "render")]);
}

#[test]
fn bases_are_read_as_the_syntax_states_them() {
    let inherits = |file: &ParsedFile| -> Vec<(String, String, bool)> {
        file.inherits.iter().map(|i| (i.ty.clone(), i.base.clone(), i.implements)).collect()
    };
    let python = parse(Lang::Python, b"class Base: pass\nclass Child(Base, mixins.Loud): pass\n");
    assert_eq!(inherits(&python), [("Child".into(), "Base".into(), false)]);
    let cpp = parse(Lang::Cpp, b"class Base {};\nclass Child : public Base { int x; };\n");
    assert_eq!(inherits(&cpp), [("Child".into(), "Base".into(), false)]);
    let typescript = parse(
        Lang::TypeScript,
        b"interface Shape {}\nclass Base {}\nclass Square extends Base implements Shape {}\n",
    );
    assert_eq!(
        inherits(&typescript),
        [("Square".into(), "Base".into(), false), ("Square".into(), "Shape".into(), true)]
    );
    let rust =
        parse(Lang::Rust, b"trait Walk {}\nstruct Dog;\nimpl Walk for Dog {}\nimpl Dog {}\n");
    assert_eq!(inherits(&rust), [("Dog".into(), "Walk".into(), true)]);
}

/// An `if` chain split by `#else` (SQLite's style) breaks the parse of its function and of
/// what follows; both are read again in one configuration, calls of every branch of the
/// function's unbroken parts and macros of every configuration kept.
#[test]
fn a_function_split_by_the_preprocessor_is_read_whole() {
    let source = br#"#ifdef FAST
#define SPEED 2
#else
#define SPEED 1
#endif
static int step(int a) {
  before(a);
  if (a) {
    one(a);
#ifdef FAST
  } else if (a > 1) {
    two(a);
  }
#else
  }
#endif
  else {
    three(a);
  }
  return after(a);
}
int next(void) { return step(1); }
"#;
    let file = parse(Lang::C, source);
    assert_eq!(
        sorted_names(&file),
        [
            ("function", "next", None),
            ("function", "step", None),
            ("macro", "SPEED", None),
            ("macro", "SPEED", None)
        ]
    );
    let mut step_calls: Vec<&str> = calls(&file)
        .into_iter()
        .filter(|(caller, _)| *caller == Some("step"))
        .map(|(_, name)| name)
        .collect();
    step_calls.sort_unstable();
    // `three` lies after the `#endif`: read in the first configuration, as `two` is.
    assert_eq!(step_calls, ["after", "before", "one", "three", "two"]);
    assert!(calls(&file).contains(&(Some("next"), "step")));
    let step = file.definitions.iter().find(|d| d.name == "step").unwrap();
    assert_eq!((step.line_start, step.line_end), (6, 21));
}

/// A block opened in both branches of a conditional (`#if X if (a) { #else { #endif`,
/// SQLite's `winWrite`) leaves the function open to the end of the file, and the parser reads
/// every later definition as nested in it (425 SQLite functions were `winWrite::...`). The
/// function is read again in its first configuration; what followed it, again as written.
#[test]
fn a_block_opened_in_both_branches_does_not_swallow_what_follows() {
    let source = br#"static int write_it(int rc) {
  before(rc);
#if defined(NO_OVERLAPPED)
  if (rc == 0) {
#else
  {
#endif
    inner(rc);
  }
  return after(rc);
}
#ifdef WIN
static int win_only(void) { return 1; }
#else
static int other(void) { return 2; }
#endif
int next(void) { return write_it(other()); }
int last(void) { return next(); }
"#;
    let file = parse(Lang::C, source);
    assert_eq!(
        sorted_names(&file),
        [
            ("function", "last", None),
            ("function", "next", None),
            ("function", "other", None),
            ("function", "win_only", None),
            ("function", "write_it", None),
        ]
    );
    let mut found = calls(&file);
    found.sort_unstable();
    assert_eq!(
        found,
        [
            (Some("last"), "next"),
            (Some("next"), "other"),
            (Some("next"), "write_it"),
            (Some("write_it"), "after"),
            (Some("write_it"), "before"),
            (Some("write_it"), "inner"),
        ]
    );
    let write_it = file.definitions.iter().find(|d| d.name == "write_it").unwrap();
    assert_eq!((write_it.line_start, write_it.line_end), (1, 11));
}
