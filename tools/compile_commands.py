#!/usr/bin/python3
"""Writes compile_commands.json (the clang JSON compilation database that
clangd, ccls and most editors read) from the Makefile's real commands:
`make -n -B` prints every compile without running it, and each line of the
form `gcc ... -c -o OBJ SRC` becomes one entry (a directory's unity source,
build/unity/NAME.c or .S, one entry per file it includes, named by its path in
the tree, with its flags). Both
subarchs are listed, so a shared file (xmhf/lib/*.c) appears with its 32-bit
and its 64-bit flags; editors take the first.

    tools/compile_commands.py [-o FILE] [make variables, e.g. DEBUG=1 SUBARCHS=amd64]
"""

import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def unity_members(source, directory):
    """build/unity/NAME.c or .S -> the files it includes (make writes these
    sources when it reads the Makefile, so they exist after `make -n`); any
    other source -> [source]."""
    if not source.startswith("build/unity/"):
        return [source]
    members = []
    with open(os.path.join(directory, source)) as f:
        for line in f:
            words = line.split()
            if len(words) == 2 and words[0] == "#include" and words[1].startswith('"'):
                members.append(tree_path(words[1].strip('"'), directory))
    return members


def tree_path(member, directory):
    """A unity source's #include -> the file's path in the tree: the Makefile
    writes them relative to build/unity/, through the layers' links
    (build/layers/, each layer's include path) for lhv/."""
    if not member.startswith("../"):
        return member
    real = os.path.realpath(os.path.join(directory, "build/unity", member))
    return os.path.relpath(real, os.path.realpath(directory))


def entries(make_output, directory):
    """The compile lines of `make -n` output -> list of database entries; a
    unity source (build/unity/NAME.c) gives one entry per file it includes."""
    out = []
    for line in make_output.splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if len(words) < 4 or os.path.basename(words[0]) not in ("gcc", "cc", "clang"):
            continue
        if "-c" not in words or "-o" not in words:
            continue
        source = words[-1]
        if not source.endswith((".c", ".S")):
            continue
        obj = words[words.index("-o") + 1]
        for member in unity_members(source, directory):
            out.append({"directory": directory, "arguments": words[:-1] + [member],
                        "file": member, "output": obj})
    return out


def main(argv):
    target = os.path.join(ROOT, "compile_commands.json")
    variables = []
    args = list(argv)
    while args:
        word = args.pop(0)
        if word == "-o" and args:
            target = os.path.abspath(args.pop(0))
        elif "=" in word:
            variables.append(word)
        else:
            print("usage: tools/compile_commands.py [-o FILE] [VAR=VALUE ...]", file=sys.stderr)
            return 2
    make = subprocess.run(["make", "--no-print-directory", "-n", "-B", "V=1"] + variables
                          + ["all"], cwd=ROOT, capture_output=True, text=True)
    if make.returncode != 0:
        sys.stderr.write(make.stderr)
        print("compile_commands.py: make -n failed", file=sys.stderr)
        return 1
    db = entries(make.stdout, ROOT)
    if not db:
        print("compile_commands.py: no compile commands in make -n's output", file=sys.stderr)
        return 1
    with open(target + ".tmp", "w") as f:
        json.dump(db, f, indent=1)
        f.write("\n")
    os.replace(target + ".tmp", target)
    print("compile_commands.py: %d entries (%d files) in %s"
          % (len(db), len({e["file"] for e in db}), os.path.relpath(target)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
