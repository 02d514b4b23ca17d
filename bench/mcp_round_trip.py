"""Round trips of `kausal mcp` tool calls, measured from the client, and the tokens of
typical answers next to what reading the files involved would cost.

Usage: python3 mcp_round_trip.py KAUSAL TREE CALLS SYMBOL [SYMBOL ...]

Indexes TREE (into TREE/.kausal, as `kausal index` would), starts `kausal mcp --root TREE`
with its defaults (staleness checked at most once a second), and sends CALLS `callers`
requests (depth 2, the default) for each SYMBOL in turn, one at a time over its stdin,
timing each from the write of the request to the read of its answer. Then one `callers`
depth 2 and one `context` per symbol: their answers' tokens (bytes / 4, as `kausal` counts)
against the tokens of the files those answers point into. Prints one JSON line.
"""
import json
import os
import subprocess
import sys
import time

kausal, tree, calls, symbols = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
subprocess.run([kausal, "index", tree], check=True, capture_output=True)
server = subprocess.Popen([kausal, "mcp", "--root", tree], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE)
next_id = 0


def ask(tool, arguments):
    global next_id
    next_id += 1
    message = {"jsonrpc": "2.0", "id": next_id, "method": "tools/call",
               "params": {"name": tool, "arguments": arguments}}
    server.stdin.write(json.dumps(message).encode() + b"\n")
    server.stdin.flush()
    answer = json.loads(server.stdout.readline())
    return answer["result"]


ask("status", {})  # the first call indexes what changed (nothing) and warms the caches
times = []
for n in range(calls):
    symbol = symbols[n % len(symbols)]
    started = time.perf_counter()
    ask("callers", {"symbol": symbol})
    times.append((time.perf_counter() - started) * 1e6)
times.sort()


def percentile(p):
    return round(times[min(len(times) - 1, int(len(times) * p / 100))], 1)


def file_tokens(paths):
    return sum(os.path.getsize(os.path.join(tree, path)) for path in paths) // 4


answers = []
for symbol in symbols:
    callers = ask("callers", {"symbol": symbol})
    walked = callers["structuredContent"]
    at = [walked["symbol"]["at"]] + [r["at"] for r in walked["results"]]
    files = sorted({place.rsplit(":", 1)[0] for place in at if place != "(external)"})
    context = ask("context", {"symbol": symbol})
    bundle = context["structuredContent"]
    context_files = sorted({bundle["symbol"]["at"].rsplit(":", 1)[0]} |
                           {site["location"].rsplit(":", 1)[0] for site in bundle["call_sites"]})
    answers.append({
        "symbol": symbol,
        "callers_results": len(walked["results"]),
        "callers_tokens": len(callers["content"][0]["text"]) // 4,
        "callers_files": len(files),
        "callers_files_tokens": file_tokens(files),
        "context_tokens": len(context["content"][0]["text"]) // 4,
        "context_files": len(context_files),
        "context_files_tokens": file_tokens(context_files),
    })
server.stdin.close()
server.wait()
print(json.dumps({
    "tree": tree, "calls": calls,
    "callers_round_trip_us": {"p50": percentile(50), "p90": percentile(90),
                              "p99": percentile(99), "max": round(times[-1], 1)},
    "answers": answers,
}))
