"""CALLS precision and recall of `kausal` against Python's own `ast` module.

Usage: python3 python_calls.py TREE EXPORT.jsonl

TREE is the indexed tree, EXPORT.jsonl what `kausal export` wrote for it. Both sides are
reduced to (file, caller's qualified name, callee's name) triples for calls made inside a
function or method; the reference walks every `ast.Call` whose callee is a name (`f()`) or
an attribute (`x.f()`), the way `kausal` names callees. Prints one JSON line.
"""
import ast
import json
import os
import sys


def reference(tree):
    triples = set()
    for directory, _, files in os.walk(tree):
        # Hidden directories, as kausal skips them (relative: the tree may lie in one).
        relative_dir = os.path.relpath(directory, tree)
        if any(part.startswith(".") and part != "." for part in relative_dir.split(os.sep)):
            continue
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, tree).replace(os.sep, "/")
            try:
                module = ast.parse(open(path, "rb").read(), filename=path)
            except SyntaxError:
                continue
            walk(module, [], None, relative, triples)
    return triples


def walk(node, scopes, function, path, triples):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            inner = scopes + [child.name]
            caller = ".".join(inner) if not isinstance(child, ast.ClassDef) else function
            # Decorators, defaults and bases run in the enclosing scope; the body in its own.
            enclosing = list(child.decorator_list) + list(getattr(child, "bases", []))
            if not isinstance(child, ast.ClassDef):
                enclosing += child.args.defaults + [d for d in child.args.kw_defaults if d]
            for part in enclosing:
                walk_expr(part, function, path, triples, scopes)
            for statement in child.body:
                walk_expr(statement, caller, path, triples, inner) if isinstance(statement, ast.expr) \
                    else walk(ast.Module(body=[statement], type_ignores=[]), inner, caller, path, triples)
        else:
            if isinstance(child, ast.Call) and function is not None:
                callee = child.func
                name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", None)
                if name:
                    triples.add((path, function, name))
            walk(child, scopes, function, path, triples)


def walk_expr(node, function, path, triples, scopes):
    walk(ast.Expression(body=node), scopes, function, path, triples)


def kausal(export):
    nodes, edges = {}, []
    for line in open(export):
        item = json.loads(line)
        if "node" in item:
            nodes[item["node"]["id"]] = item["node"]
        else:
            edges.append(item["edge"])
    triples = set()
    for edge in edges:
        if not edge["type"].startswith("CALLS"):
            continue
        source, target = nodes.get(edge["source"]), nodes.get(edge["target"])
        if source and target and source["kind"] in ("function", "method"):
            triples.add((source["path"], source["qualified_name"], target["name"]))
    return triples


def main():
    tree, export = sys.argv[1], sys.argv[2]
    expected, found = reference(tree), kausal(export)
    both = expected & found
    result = {
        "reference_calls": len(expected),
        "kausal_calls": len(found),
        "precision": round(len(both) / max(len(found), 1), 4),
        "recall": round(len(both) / max(len(expected), 1), 4),
        "missed_examples": sorted(expected - found)[:8],
        "extra_examples": sorted(found - expected)[:8],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
