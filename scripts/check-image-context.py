#!/usr/bin/env python3
"""Checks, without a container runtime, that the Dockerfile's build stage gets every
directory SwiftPM needs to load the package: each target's directory must survive
.dockerignore and be copied by a COPY of the build stage. (SwiftPM refuses a package
whose test target's directory is missing, even to build another product.)

Usage: swift package dump-package | check-image-context.py
"""
import fnmatch
import json
import sys


def ignored(path, patterns):
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negate, pattern in patterns:
        if any(fnmatch.fnmatch(c, pattern) for c in candidates):
            result = not negate
    return result


def main():
    package = json.load(sys.stdin)
    patterns = []
    for line in open(".dockerignore"):
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            patterns.append((negate, line.lstrip("!").strip("/")))
    copied = []
    stages = 0
    for line in open("Dockerfile"):
        words = line.split()
        if words and words[0].upper() == "FROM":
            stages += 1
        if stages == 1 and words and words[0].upper() == "COPY" and not any(w.startswith("--from") for w in words):
            copied += [w.strip("/").removeprefix("./") for w in words[1:-1] if not w.startswith("--")]

    needed = ["Package.swift"]
    for target in package["targets"]:
        default = "Tests" if target["type"] == "test" else "Sources"
        needed.append(target.get("path") or f"{default}/{target['name']}")
    errors = []
    for path in needed:
        if ignored(path, patterns):
            errors.append(f"{path} is excluded by .dockerignore")
        if not any(path == c or path.startswith(c + "/") for c in copied):
            errors.append(f"{path} is not copied by the build stage (COPY {' '.join(copied)})")
    for e in errors:
        print(f"check-image-context: {e}", file=sys.stderr)
    if not errors:
        print(f"check-image-context: the build stage gets all {len(needed) - 1} targets' directories", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
