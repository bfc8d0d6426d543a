#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle.

Nodes are a crate's files (`src/a/b.rs` and `src/a/b/mod.rs` are both module `a::b`); an edge
runs from a file to each module it names through `crate::`, `super::` or `self::` paths, resolved
to the deepest module that is a file. `mod x;` declarations and `pub use` re-exports (a parent's
facade over its children) are not edges. Crates depend downward only, which cargo itself enforces
for normal dependencies; this covers what cargo cannot see: circles inside a crate.

Usage: module_cycles.py CRATE_DIR...   (exit 1 and the circles printed when any is found)
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
CHILD = re.compile(r"\b[a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*::")
GROUP = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^}]*)\}")


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts == ["main"] and (src / "lib.rs").exists():
        # A binary beside a library is a crate of its own that uses the library by name.
        return ("<main.rs>",)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def statements(text: str):
    """Yields each `use` statement whole (they may span lines) and every other line."""
    buffer = ""
    for line in text.splitlines():
        stripped = line.strip()
        if buffer:
            buffer += " " + stripped
            if stripped.endswith(";"):
                yield buffer
                buffer = ""
            continue
        if re.match(r"(pub(\([a-z]+\))? )?use ", stripped) and not stripped.endswith(";"):
            buffer = stripped
            continue
        yield stripped


def resolve(modules: set, here: tuple, head: str, tail: list) -> tuple:
    if head == "crate":
        base = ()
    elif head == "super":
        base = here[:-1]
        while tail and tail[0] == "super":
            base, tail = base[:-1], tail[1:]
    else:
        base = here
    best = base
    for i in range(1, len(tail) + 1):
        candidate = base + tuple(tail[:i])
        if candidate in modules:
            best = candidate
    return best


def edges_of(modules: set, here: tuple, text: str) -> set:
    found = set()
    for statement in statements(strip_comments(text)):
        if re.match(r"pub(\([a-z]+\))? use ", statement) or re.match(r"(pub )?mod ", statement):
            continue
        for match in GROUP.finditer(statement):
            prefix = [p for p in match.group(2).split("::") if p]
            for item in match.group(3).split(","):
                item = item.strip().split(" as ")[0]
                tail = prefix + [p for p in item.split("::") if p and p not in ("*", "self")]
                found.add(resolve(modules, here, match.group(1), tail))
        for match in PATH.finditer(GROUP.sub("", statement)):
            tail = [p for p in match.group(2).split("::") if p]
            found.add(resolve(modules, here, match.group(1), tail))
        # A bare path to a child module (`routes::event_routes` in lib.rs).
        for match in CHILD.finditer(statement):
            if match.start() > 0 and statement[match.start() - 1] == ":":
                continue
            tail = match.group(0).split("::")[:-1]
            if here + (tail[0],) in modules:
                found.add(resolve(modules, here, "self", tail))
    found.discard(here)
    return found


def cycles(graph: dict) -> list:
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in graph:
        if node not in index:
            visit(node)
    return result


def check(crate: Path) -> list:
    src = crate / "src"
    files = {module_of(src, f): f for f in src.rglob("*.rs")}
    modules = set(files)
    graph = {m: edges_of(modules, m, f.read_text()) for m, f in files.items()}
    name = lambda m: "::".join(("crate",) + m)
    return [[name(m) for m in c] for c in cycles(graph)]


def main() -> int:
    failed = False
    for crate in map(Path, sys.argv[1:]):
        for circle in check(crate):
            failed = True
            print(f"{crate}: import circle between {', '.join(circle)}")
    if not failed:
        print(f"no import circles in {len(sys.argv) - 1} crates")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
