#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""compile_commands.json from what make would run (`make -n -B V=1` on stdin), without building: every
`CC ... -c SRC -o OBJ` line becomes one entry. Used by clangd, clang-tidy (make lint) and editors."""
import json
import os
import shlex
import sys


def main():
    root = os.getcwd()
    entries = []
    for line in sys.stdin:
        if " -c " not in line:
            continue
        args = shlex.split(line)
        try:
            src = args[args.index("-c") + 1]
            out = args[args.index("-o") + 1]
        except (ValueError, IndexError):
            continue
        if not src.endswith((".c", ".S")):
            continue
        entries.append({"directory": root, "arguments": args, "file": src, "output": out})
    if not entries:
        sys.exit("compile_commands.py: no compile command in make's output")
    json.dump(entries, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
