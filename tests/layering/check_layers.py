#!/usr/bin/env python3
"""Holds engine/ to the dependency rules of docs/architecture.md ("Dependencies go one way").

Usage: check_layers.py SOURCE_DIR

Every #include "STAGE/..." in engine/OWN_STAGE/ must name OWN_STAGE or a stage that
OWN_STAGE may use (ALLOWED below, the architecture page's list); another stage's detail/
headers are private to it (for cli/ too); nothing in engine/ includes cli/; SQLite and
OpenSSL are reached only from audit/, ANTLR only from the syntax files that feed and walk
the parser; and no thread is started but through base/threads.h (architecture, "Error
handling": the system may refuse one), save a std::async whose line says the refusal is
caught ("refusal caught"), and no thread_local but base/threads.h's (thread_scratch).
Prints every breach with file:line and exits 1, or exits 0 when there is none.
"""
import pathlib
import re
import sys

# Keep in step with docs/architecture.md.
ALLOWED = {
    "base": set(),
    "syntax": {"base"},
    "check": {"syntax", "base"},
    "plan": {"check", "base"},
    "data": {"base"},
    "eval": {"plan", "check", "data", "base"},
    "render": {"eval", "check", "data", "base"},
    "audit": {"base"},
    "review": {"audit", "render", "eval", "check", "data", "base"},
    "ruletest": {"render", "eval", "plan", "data", "check", "base"},
    "format": {"syntax", "base"},
    "diff": {"render", "eval", "check", "data", "base"},
}

# Third-party headers confined to some files: (pattern of the include, where it may appear).
CONFINED = [
    (re.compile(r"^<sqlite3\.h>$"), lambda rel: rel.startswith("audit/")),
    (re.compile(r"^<openssl/"), lambda rel: rel.startswith("audit/")),
    (
        re.compile(r'^[<"](antlr4-runtime|Crible(Lexer|Parser|Visitor|BaseVisitor|Listener)\.h)'),
        lambda rel: rel in ("syntax/build_ast.cpp", "syntax/detail/rule_lexer.cpp",
                            "syntax/detail/rule_lexer.h"),
    ),
]

INCLUDE = re.compile(r'^\s*#\s*include\s+([<"][^>"]+[>"])')

# A thread constructed directly (std::thread t(...), std::thread(...), std::jthread) or
# std::async told to start one; and vectors of threads, constructed in place by emplace_back.
THREAD_START = re.compile(r"\bstd::j?thread\s*(\w+\s*)?[({]|\bstd::async\s*\(\s*std::launch::async")
THREAD_VECTOR = re.compile(r"\bstd::vector<std::j?thread>\s+(\w+)")


def thread_starts(path: pathlib.Path, shown: str) -> list:
    """Breaches of the threads rule in one file, `shown` being its name in messages."""
    if shown == "engine/base/threads.h":
        return []
    out = []
    text = path.read_text(encoding="utf-8")
    vectors = set(THREAD_VECTOR.findall(text))
    emplaced = re.compile(r"\b(" + "|".join(map(re.escape, vectors)) + r")\.emplace_back\s*\(") if vectors else None
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("//", 1)[0]
        started = THREAD_START.search(code) or (emplaced and emplaced.search(code))
        if started and "refusal caught" not in line:
            out.append(f"{shown}:{number}: starts a thread directly; use base/threads.h "
                       f"(share_out, run_beside, try_start_thread): the system may refuse it")
        if re.search(r"\bthread_local\b", code):
            out.append(f"{shown}:{number}: a thread_local object; use thread_scratch "
                       f"(base/threads.h): glibc aborts when it cannot record its destructor")
    return out


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    engine = pathlib.Path(sys.argv[1]) / "engine"
    if not engine.is_dir():
        print(f"check_layers: no engine/ under {sys.argv[1]}", file=sys.stderr)
        return 2
    stages = sorted(p.name for p in engine.iterdir() if p.is_dir())
    breaches = []
    unknown = [s for s in stages if s not in ALLOWED]
    for s in unknown:
        breaches.append(f"engine/{s}/: a stage the layering rules do not list (add it to "
                        f"tests/layering/check_layers.py and docs/architecture.md)")
    files = 0
    for path in sorted(engine.rglob("*")):
        if path.suffix not in (".h", ".cpp") or not path.is_file():
            continue
        files += 1
        rel = path.relative_to(engine).as_posix()
        own = rel.split("/", 1)[0]
        breaches += thread_starts(path, f"engine/{rel}")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            where = f"engine/{rel}:{number}"
            for pattern, allowed_in in CONFINED:
                if pattern.search(target) and not allowed_in(rel):
                    breaches.append(f"{where}: includes {target}, which is confined elsewhere")
            if not target.startswith('"'):
                continue
            name = target.strip('"')
            first = name.split("/", 1)[0]
            if first == "cli":
                breaches.append(f"{where}: includes {name}: engine/ never includes cli/")
            elif first in ALLOWED and first != own:
                if own in ALLOWED and first not in ALLOWED[own]:
                    breaches.append(f"{where}: {own} may not use {first} ({name})")
                elif "/detail/" in name:
                    breaches.append(f"{where}: {name} is private to {first}")
    cli = pathlib.Path(sys.argv[1]) / "cli"
    for path in sorted(cli.glob("*")):
        if path.suffix not in (".h", ".cpp"):
            continue
        breaches += thread_starts(path, f"cli/{path.name}")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = INCLUDE.match(line)
            if m and m.group(1).startswith('"') and "/detail/" in m.group(1):
                breaches.append(f"cli/{path.name}:{number}: {m.group(1)} is private to its stage")
    for b in breaches:
        print(b)
    if files == 0:
        print("check_layers: no sources found", file=sys.stderr)
        return 2
    print(f"check_layers: {files} files in {len(stages)} stages, "
          f"{len(breaches)} breach{'es' if len(breaches) != 1 else ''}")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
