"""`kausal mcp` driven by the reference MCP client, the Python SDK (`mcp`), over stdio.

Usage: python3 test_sdk.py KAUSAL_BINARY

On a copy of tests/fixtures/c_small (whose call graph tests/cli checks by hand), in both
protocol eras (the SDK's `auto` mode probes `server/discover`, 2026-07-28; `legacy` runs the
`initialize` handshake): lists the tools, calls every one and checks its answers against the
fixture's graph, watches `index` report progress, edits a file and sees the next answer
follow it, and finds the store locked for a second `kausal` while the server runs.
Prints one line per check; exits non-zero on the first failure.
"""
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile

from harness import FIXTURE, KAUSAL, check, passed
from mcp import Client, StdioServerParameters

TOOLS = {"index", "find_symbol", "get_symbol", "callers", "callees", "impact", "trace_path",
         "context", "status"}


async def answer(client, tool, arguments=None, **options):
    result = await client.call_tool(tool, arguments or {}, **options)
    text = result.content[0].text
    return result.is_error, json.loads(text)


def names(results):
    return sorted((r["name"], r["depth"]) for r in results)


async def tools_answer_from_the_fixture(client, era):
    listed = await client.list_tools()
    check({tool.name for tool in listed.tools} == TOOLS, f"{era}: tools/list names every tool")
    check(all(tool.input_schema.get("type") == "object" for tool in listed.tools),
          f"{era}: every tool has an object input schema")
    _, callers = await answer(client, "callers", {"symbol": "log_line"})
    check(names(callers["results"]) == [("main", 1), ("parse", 1), ("run", 2)],
          f"{era}: callers of log_line, two levels", callers)
    _, callees = await answer(client, "callees", {"symbol": "main", "depth": 1})
    check(names(callees["results"]) == [("log_line", 1), ("run", 1)], f"{era}: callees of main")
    _, found = await answer(client, "find_symbol", {"name": "run"})
    check(sorted(s["at"] for s in found["symbols"]) == ["src/main.c:5", "src/tool.c:3"],
          f"{era}: find_symbol lists both definitions of run")
    _, shown = await answer(client, "get_symbol", {"symbol": "skip_space"})
    check(shown["source"].startswith("static int skip_space(const char *text) {"),
          f"{era}: get_symbol returns the source")
    _, path = await answer(client, "trace_path", {"from": "main", "to": "skip_space"})
    check([step["name"] for step in path["path"]] == ["main", "run", "parse", "tokenize", "skip_space"],
          f"{era}: trace_path main to skip_space", path)
    _, impact = await answer(client, "impact", {"symbol": "token", "depth": 1})
    check(sorted(r["name"] for r in impact["results"]) == ["parse", "tokenize"],
          f"{era}: impact of the type token")
    result = await client.call_tool("context", {"symbol": "tokenize", "max_tokens": 250})
    bundle = json.loads(result.content[0].text)
    check([site["caller"] for site in bundle["call_sites"]][:1] == ["parse"]
          and len(result.content[0].text) <= 250 * 4,
          f"{era}: context of tokenize, its whole text within the token budget")
    _, status = await answer(client, "status")
    check(status["files"] == 5 and status["state"] == "clean", f"{era}: status", status)
    error, missing = await answer(client, "callers", {"symbol": "no_such_function"})
    check(error and "no symbol" in missing["error"], f"{era}: an unknown symbol is a tool error")
    error, ambiguous = await answer(client, "callers", {"symbol": "run"})
    check(error and len(ambiguous["candidates"]) == 2, f"{era}: an ambiguous name lists candidates")
    error, wrong = await answer(client, "callers", {"symbol": "main", "depth": "deep"})
    check(error and "depth" in wrong["error"], f"{era}: a wrong argument type is a tool error")
    _, small = await answer(client, "callers", {"symbol": "log_line", "max_tokens": 100, "limit": 1})
    check(small["truncated"] is True and len(small["results"]) == 1,
          f"{era}: a limit cuts the answer and says so")


async def index_reports_progress(client):
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    error, summary = await answer(client, "index", {"full": True}, progress_callback=on_progress)
    check(not error and summary["files_parsed"] == 5, "index full re-parses every file", summary)
    check(len(seen) >= 2 and all(a[0] < b[0] for a, b in zip(seen, seen[1:]))
          and seen[-1][0] == seen[-1][1], "index reports growing progress to its total", seen)


async def an_edit_is_seen_by_the_next_answer(client, tree):
    with open(os.path.join(tree, "src", "extra.c"), "w") as extra:
        extra.write("int log_line(const char *message);\nint audit(void) { return log_line(\"a\"); }\n")
    _, callers = await answer(client, "callers", {"symbol": "log_line", "depth": 1})
    check(("audit", 1) in names(callers["results"]), "a new caller is indexed before the answer",
          callers)


def the_store_is_locked_for_another_kausal(tree):
    other = subprocess.run([KAUSAL, "--store", os.path.join(tree, ".kausal"), "status"],
                           capture_output=True, text=True)
    check(other.returncode == 7 and "in use by process" in other.stderr,
          "a second kausal is refused while the server holds the store", other.stderr)


async def main():
    for era in ("auto", "legacy"):
        with tempfile.TemporaryDirectory() as scratch:
            tree = os.path.join(scratch, "tree")
            shutil.copytree(FIXTURE, tree)
            server = StdioServerParameters(
                command=KAUSAL, args=["mcp", "--root", tree, "--stale-check-ms", "0"])
            async with Client(server, mode=era) as client:
                modern = client.session.discover_result is not None
                check(modern == (era == "auto"),
                      f"{era}: the era negotiated is the one asked for (modern: {modern})")
                await tools_answer_from_the_fixture(client, era)
                if era == "auto":
                    await index_reports_progress(client)
                    await an_edit_is_seen_by_the_next_answer(client, tree)
                    the_store_is_locked_for_another_kausal(tree)
    print(f"test_sdk: {passed[0]} checks passed")


asyncio.run(main())
