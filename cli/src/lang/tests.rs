use super::*;

fn names(file: &ParsedFile) -> Vec<(&str, &str, Option<&str>)> {
    file.definitions
        .iter()
        .map(|d| (d.kind.name(), d.qualified_name.as_str(), d.owner.as_deref()))
        .collect()
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
}
