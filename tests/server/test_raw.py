"""`kausal mcp` fed raw JSON-RPC lines: every malformed or hostile input gets its proper
answer (or, for a notification, none), the server keeps serving after each, and a client
that vanishes mid-call leaves the server to exit cleanly with the store whole.

Usage: python3 test_raw.py KAUSAL_BINARY
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from harness import FIXTURE, KAUSAL, check, passed



class Server:
    def __init__(self, tree):
        self.process = subprocess.Popen(
            [KAUSAL, "mcp", "--root", tree], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)

    def send(self, raw: bytes):
        self.process.stdin.write(raw + b"\n")
        self.process.stdin.flush()

    def receive(self):
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def ask(self, raw: bytes):
        self.send(raw)
        return self.receive()


def request(id, method, params=None):
    message = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def call(id, tool, arguments):
    return request(id, "tools/call", {"name": tool, "arguments": arguments})


def error_code(answer):
    return answer and answer.get("error", {}).get("code")


def malformed_inputs_get_their_errors(server):
    answer = server.ask(b"{not json")
    check(error_code(answer) == -32700 and answer["id"] is None, "malformed JSON: parse error")
    answer = server.ask(b"\xff\xfe{}")
    check(error_code(answer) == -32700, "invalid UTF-8: parse error")
    answer = server.ask(b"[" + request(1, "ping") + b"]")
    check(error_code(answer) == -32600, "a batch: invalid request")
    answer = server.ask(b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}')
    check(error_code(answer) == -32600 and answer["id"] is None, "an object id: invalid request")
    answer = server.ask(b'{"id":3,"method":"ping"}')
    check(error_code(answer) == -32600 and answer["id"] == 3, "no jsonrpc member: invalid request")
    answer = server.ask(b'{"jsonrpc":"2.0","id":4,"method":"ping","params":[1]}')
    check(error_code(answer) == -32600 and answer["id"] == 4, "array params: invalid request")
    answer = server.ask(request(5, "resources/list"))
    check(error_code(answer) == -32601 and answer["id"] == 5, "an unknown method: method not found")
    answer = server.ask(call(6, "rm_rf", {}))
    check(error_code(answer) == -32602, "an unknown tool: invalid params")
    answer = server.ask(request(7, "tools/call", {"arguments": {}}))
    check(error_code(answer) == -32602, "tools/call without a name: invalid params")
    answer = server.ask(call(8, "callers", "log_line"))
    check(answer["result"]["isError"] is True, "arguments not an object: a tool error")
    answer = server.ask(call(9, "callers", {"symbol": "log_line", "limit": -1}))
    check(answer["result"]["isError"] is True, "a negative limit: a tool error")
    answer = server.ask(call(10, "callers", {"symbol": "log_line", "colour": "red"}))
    check(answer["result"]["isError"] is True, "an unknown argument: a tool error")
    answer = server.ask(call(11, "find_symbol", {"name": "x" * (1 << 20)}))
    found = answer["result"]["structuredContent"]
    check(found == {"symbols": [], "truncated": False}, "a 1 MiB name: nothing found", found)
    answer = server.ask(b'{"jsonrpc":"2.0","id":12,"method":"ping","params":{"_meta":'
                        b'{"io.modelcontextprotocol/protocolVersion":"1999-01-01"}}}')
    check(error_code(answer) == -32022 and "2026-07-28" in answer["error"]["data"]["supported"],
          "an unknown protocol version: unsupported, with the versions spoken")


def notifications_and_huge_lines(server):
    server.send(b'{"jsonrpc":"2.0","method":"notifications/whatever"}')
    server.send(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}')
    server.send(b"")
    answer = server.ask(request(20, "ping"))
    check(answer == {"jsonrpc": "2.0", "id": 20, "result": {}},
          "notifications and blank lines get no answer", answer)
    answer = server.ask(b'{"jsonrpc":"2.0","id":21,"method":"ping","pad":"' + b"x" * (5 << 20) + b'"}')
    check(error_code(answer) == -32600 and "longer" in answer["error"]["message"],
          "a 5 MiB line: refused without reading it whole")
    answer = server.ask(call(22, "callers", {"symbol": "log_line", "depth": 1}))
    names = sorted(r["name"] for r in answer["result"]["structuredContent"]["results"])
    check(names == ["main", "parse"], "after all of that, answers are still right", answer)


def a_client_gone_mid_call_leaves_the_store_whole(tree):
    server = Server(tree)
    server.send(call(1, "index", {"full": True}))
    server.process.stdout.close()
    server.process.stdin.close()
    code = server.process.wait(timeout=60)
    check(code == 0, "a client gone mid-call: the server exits cleanly", server.process.stderr.read())
    status = subprocess.run([KAUSAL, "--json", "--store", os.path.join(tree, ".kausal"), "status"],
                            capture_output=True, text=True)
    check(status.returncode == 0 and json.loads(status.stdout)["files"] == 5,
          "the store opens afterwards with the tree whole", status.stdout + status.stderr)


def warn_mode_says_the_answer_may_be_stale(tree):
    server = subprocess.Popen([KAUSAL, "mcp", "--root", tree, "--stale", "warn",
                               "--stale-check-ms", "0"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def ask(raw):
        server.stdin.write(raw + b"\n")
        server.stdin.flush()
        return json.loads(server.stdout.readline())

    first = ask(call(1, "callers", {"symbol": "log_line", "depth": 1}))["result"]["structuredContent"]
    check("stale" not in first, "warn: nothing changed, nothing said", first)
    with open(os.path.join(tree, "src", "late.c"), "w") as late:
        late.write("int log_line(const char *m);\nint late(void) { return log_line(\"l\"); }\n")
    second = ask(call(2, "callers", {"symbol": "log_line", "depth": 1}))["result"]["structuredContent"]
    check(second.get("stale", {}).get("files_changed") == 1
          and all(r["name"] != "late" for r in second["results"]),
          "warn: a file added since is reported, not indexed", second)
    server.stdin.close()
    server.wait(timeout=30)


def main():
    with tempfile.TemporaryDirectory() as scratch:
        tree = os.path.join(scratch, "tree")
        shutil.copytree(FIXTURE, tree)
        server = Server(tree)
        answer = server.ask(request(0, "initialize", {"protocolVersion": "2025-06-18",
                                                      "capabilities": {},
                                                      "clientInfo": {"name": "raw", "version": "1"}}))
        check(answer["result"]["protocolVersion"] == "2025-06-18", "initialize echoes 2025-06-18")
        malformed_inputs_get_their_errors(server)
        notifications_and_huge_lines(server)
        server.process.stdin.close()
        check(server.process.wait(timeout=30) == 0, "end of input: the server exits with 0")
        a_client_gone_mid_call_leaves_the_store_whole(tree)
        warn_mode_says_the_answer_may_be_stale(tree)
    print(f"test_raw: {passed[0]} checks passed")


main()
