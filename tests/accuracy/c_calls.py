"""CALLS precision and recall of `kausal` against the C compiler's own call graph.

Usage: python3 c_calls.py TREE EXPORT.jsonl [GCC FLAGS...]

TREE is the indexed tree, EXPORT.jsonl what `kausal export` wrote for it. Every `.c` file of
TREE is compiled here with `gcc -O0 -fcallgraph-info` (directories of TREE holding headers
are include paths; extra flags follow EXPORT), which writes the calls the compiler itself
emits, per translation unit. Both sides are reduced to (caller's file, caller, callee's
name) triples for calls of functions made inside a function; kausal's calls of a macro
stand for the calls in the macro's body (`F` calls `M`, `M` calls `g`: `F` calls `g`, as
after preprocessing), and are counted apart. Prints one JSON line: precision, recall, and
every disagreement sorted by its cause:

- `macro call`: kausal reads `F(x)` of a macro defined outside the tree (a system
  header's, like `assert`) as a call of `F`; the compiler sees its expansion;
- `in a macro's arguments`: a call written inside the arguments of a macro whose expansion
  drops them (`DPRINTF(("%s", strerror(rc)))` with debugging off);
- `in a macro expansion`: the compiler's call comes from a macro kausal does not see into
  (one defined outside the tree), not from the text at the call site;
- `compiler builtin`: a C library function GCC expands or replaces itself even at -O0
  (`memcpy` of a constant size, `printf("x\\n")` as `puts`);
- `inactive #if branch`: kausal reads every branch of `#if`; the compiler builds one (the
  call's lines are absent from `gcc -E`);
- `through a pointer`: `s->f(x)` or `cmp(a, b)` calls a function pointer; kausal names it
  `f`, the compiler's call is indirect;
- `not compiled`: a file that did not compile (its calls are left out of both sides);
- `other`: listed in full, for a human to judge.
"""
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

NODE = re.compile(r'node: \{ title: "(?P<title>[^"]+)" label: "(?P<name>[^\\"]+)\\n(?P<path>[^:"]+):(?P<line>\d+)')
EDGE = re.compile(r'edge: \{ sourcename: "(?P<source>[^"]+)" targetname: "(?P<target>[^"]+)" label: "(?P<path>[^:"]+):(?P<line>\d+):(?P<column>\d+)"')
MARKER = re.compile(r'^# (\d+) "([^"]+)"')


def c_files(tree):
    found, include_dirs = [], set()
    for directory, _, files in os.walk(tree):
        relative = os.path.relpath(directory, tree)
        for name in files:
            if name.endswith(".c"):
                found.append(os.path.normpath(os.path.join(relative, name)))
            if name.endswith(".h"):
                include_dirs.add(os.path.normpath(relative))
    return sorted(found), sorted(include_dirs)


def compile_unit(tree, source, flags, out_dir):
    """The compiler's calls of one file, and the source lines it compiled, or None."""
    base = os.path.join(out_dir, source.replace("/", "_"))
    command = ["gcc", "-O0", "-w", "-c", "-fcallgraph-info", "-o", base + ".o"] + flags + [source]
    if subprocess.run(command, cwd=tree, capture_output=True).returncode != 0:
        return None
    graph = open(base + ".ci").read()
    nodes = {m["title"]: (os.path.normpath(m["path"]), m["name"]) for m in NODE.finditer(graph)}
    calls, indirect = set(), set()
    for edge in EDGE.finditer(graph):
        caller, callee = nodes.get(edge["source"]), nodes.get(edge["target"])
        site = (os.path.normpath(edge["path"]), int(edge["line"]), int(edge["column"]))
        if edge["target"] == "__indirect_call":
            indirect.add(site[:2])
        elif caller and callee:
            calls.add((caller[0], caller[1], callee[1], site))
    expanded = subprocess.run(["gcc", "-E"] + flags + [source], cwd=tree,
                              capture_output=True, text=True).stdout
    defined = subprocess.run(["gcc", "-E", "-dM"] + flags + [source], cwd=tree,
                             capture_output=True, text=True).stdout
    macros = {m[1] for m in re.finditer(r"^#define (\w+)\(", defined, re.M)}
    return calls, active_lines(expanded), indirect, macros


def active_lines(expanded):
    """(file, line) pairs `gcc -E` kept: the lines of active #if branches."""
    lines, current, number = set(), None, 0
    for text in expanded.splitlines():
        marker = MARKER.match(text)
        if marker:
            number, current = int(marker[1]), os.path.normpath(marker[2])
            continue
        # A skipped branch of a few lines comes out as blank lines, not as a new marker.
        if text.strip():
            lines.add((current, number))
        number += 1
    return lines


def reference(tree, extra_flags):
    sources, include_dirs = c_files(tree)
    flags = [f"-I{d}" for d in include_dirs] + extra_flags
    calls, active, indirect, macros, failed = set(), set(), set(), set(), []
    with tempfile.TemporaryDirectory() as out_dir:
        for source in sources:
            unit = compile_unit(tree, source, flags, out_dir)
            if unit is None:
                failed.append(source)
                continue
            calls |= unit[0]
            active |= unit[1]
            indirect |= unit[2]
            macros |= unit[3]
    return calls, {"active": active, "indirect": indirect, "macros": macros}, failed


def builtins(names):
    """The names GCC has a builtin of (`__builtin_memcpy`) or are one (`__atomic_load_n`)."""
    probe = "".join(f"#if __has_builtin(__builtin_{n}) || __has_builtin({n})\n{n}\n#endif\n"
                    for n in sorted(names))
    output = subprocess.run(["gcc", "-E", "-P", "-"], input=probe, capture_output=True,
                            text=True).stdout
    return set(output.split())


def kausal(export):
    """kausal's calls of functions from functions, directly or through macros (a call of a
    macro stands for the calls in its body), and how many calls of macros it holds."""
    nodes, calls_from = {}, collections.defaultdict(list)
    for line in open(export):
        item = json.loads(line)
        if "node" in item:
            nodes[item["node"]["id"]] = item["node"]
        elif item["edge"]["type"].startswith("CALLS"):
            calls_from[item["edge"]["source"]].append(item["edge"])
    calls, macro_calls = {}, 0
    for id, source in nodes.items():
        if source["kind"] != "function" or source["lang"] != "c":
            continue
        # Depth-first through macros; each macro once (a macro may name itself).
        stack, seen = [(id, source)], {id}
        while stack:
            via_id, via = stack.pop()
            for edge in calls_from[via_id]:
                target = nodes.get(edge["target"])
                if target is None:
                    continue
                if target["kind"] == "macro":
                    macro_calls += via_id == id
                    if edge["target"] not in seen:
                        seen.add(edge["target"])
                        stack.append((edge["target"], target))
                    continue
                key = (source["path"], source["name"], target["name"])
                calls.setdefault(key, (via, target, edge["type"]))
    return calls, macro_calls


def source_lines(tree, path, cache={}):
    if path not in cache:
        with open(os.path.join(tree, path), errors="replace") as file:
            cache[path] = file.read().split("\n")
    return cache[path]


def why_extra(tree, call, facts, builtin):
    # `source` is where the call is written: the function, or a macro it calls.
    source, target, edge_type = call
    path, name = source["path"], target["name"]
    if target["kind"] == "macro" or name in facts["macros"]:
        return "macro call"
    lines = source_lines(tree, path)
    pattern = re.compile(r"(->|\.)?\s*\b" + re.escape(name) + r"\s*\(")
    sites = [(n, m) for n in range(source["line_start"], source["line_end"] + 1)
             for m in pattern.finditer(lines[n - 1] if n - 1 < len(lines) else "")]
    if sites and all((path, n) not in facts["active"] for n, _ in sites):
        return "inactive #if branch"
    if edge_type == "CALLS_METHOD" or (sites and all(m.group(1) for _, m in sites)):
        return "through a pointer"
    if sites and all((path, n) in facts["indirect"] for n, _ in sites):
        return "through a pointer"
    start = source["line_start"] - 1
    before = lambda n, m: "\n".join(lines[start:n - 1] + [lines[n - 1][:m.start()]])
    if sites and all(in_macro_arguments(before(n, m), facts["macros"]) for n, m in sites):
        return "in a macro's arguments"
    if target["kind"] == "external" and name in builtin:
        return "compiler builtin"
    return "other"


def in_macro_arguments(before, macros):
    """Whether the function's text before a call opens a call of a macro still open there."""
    before = re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'', "", before)
    depth_by_name = []
    for token in re.finditer(r"(\w+)\s*\(|\(|\)", before):
        if token.group(0) == ")":
            if depth_by_name:
                depth_by_name.pop()
        else:
            depth_by_name.append(token.group(1))
    return any(name in macros for name in depth_by_name if name)


def why_missed(tree, site, callee):
    path, line, column = site
    lines = source_lines(tree, path)
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if not text[column - 1:].startswith(callee):
        return "in a macro expansion"
    return "other"


def main():
    tree, export, flags = sys.argv[1], sys.argv[2], sys.argv[3:]
    compiled, facts, failed = reference(tree, flags)
    sites = collections.defaultdict(list)
    for path, caller, callee, site in compiled:
        sites[(path, caller, callee)].append(site)
    calls, macro_calls = kausal(export)
    found = {key: call for key, call in calls.items() if key[0] not in failed}
    expected, kept = set(sites), set(found)
    both = expected & kept
    missed = collections.Counter()
    extra = collections.Counter()
    others = {"missed": [], "extra": []}
    for key in sorted(expected - kept):
        why = min(why_missed(tree, site, key[2]) for site in sites[key])
        missed[why] += 1
        if why == "other":
            others["missed"].append(key)
    builtin = builtins({key[2] for key in kept - expected})
    for key in sorted(kept - expected):
        why = why_extra(tree, found[key], facts, builtin)
        extra[why] += 1
        if why == "other":
            others["extra"].append(key)
    explained = sum(missed.values()) - missed["other"], sum(extra.values()) - extra["other"]
    result = {
        "compiler_calls": len(expected),
        "kausal_macro_calls": macro_calls,
        "kausal_calls": len(kept),
        "precision": round(len(both) / max(len(kept), 1), 4),
        "recall": round(len(both) / max(len(expected), 1), 4),
        # Leaving out the disagreements with a cause other than `other` (counted below).
        "precision_explained": round(len(both) / max(len(kept) - explained[1], 1), 4),
        "recall_explained": round(len(both) / max(len(expected) - explained[0], 1), 4),
        "missed": missed,
        "extra": extra,
        "not_compiled": failed,
        "other": others,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
