"""What both server tests share: the binary under test (the first argument), the fixture
tree, and `check`, which prints each check and stops at the first failure."""
import os
import sys

KAUSAL = os.path.abspath(sys.argv[1])
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "c_small")
passed = [0]


def check(condition, what, detail=None):
    if not condition:
        print(f"FAIL {what}: {detail}")
        sys.exit(1)
    passed[0] += 1
    print(f"ok   {what}")
