"""Keyword auto-replies: µs per message to find the reply among 1,000 rules.

python bench/bench_autoreply.py [--rules 1000] [--messages 20000]

The rules mix the three kinds (``any`` with several keywords, ``contains`` with two, ``exact``)
and a tenth have active hours; messages are short questions (~20 characters) and long chat
lines (~100), one in ten containing a rule's keywords spread with spaces and full-width forms.
``best`` is what the handler runs per message (normalising, the automaton, picking the most
specific active rule); ``compile`` is paid once per group and configuration.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_moderation import CHARS
from handlers.autoreply.config import AutoreplyConfig
from handlers.autoreply.logic import Book, entries_for

KINDS = ("any", "any", "contains", "exact")


def keyword(rng: random.Random) -> str:
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(2, 5)))


def rules(n: int, rng: random.Random) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        words = [keyword(rng) for _ in range(1 if kind == "exact" else rng.randint(2, 4))]
        rule: dict[str, object] = {"id": f"r{i}", "keywords": words, "match": kind}
        rule["reply"] = f"回复 {i}：{{name}}，请看群公告"
        if i % 10 == 0:
            rule["hours"] = "20:00-22:00"
        out.append(rule)
    return out


def messages(n: int, rng: random.Random, rs: list[dict[str, object]]) -> list[str]:
    out = []
    for i in range(n):
        size = 20 if i % 2 else 100
        text = "".join(rng.choice(CHARS + "，。！？ abc123") for _ in range(size))
        if i % 10 == 0:
            words = rng.choice(rs)["keywords"]
            assert isinstance(words, list)
            hidden = " ".join(" . ".join(w) for w in words)  # spaced out, as members type
            text = text[: size // 2] + hidden.replace("a", "ａ") + text[size // 2 :]
        out.append(text)
    return out


def timed(fn: Callable[[str], object], msgs: list[str]) -> tuple[float, float, float]:
    lat = []
    for m in msgs:
        t = time.perf_counter()
        fn(m)
        lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)], sum(lat) / len(lat)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rules", type=int, default=1000)
    p.add_argument("--messages", type=int, default=20000)
    a = p.parse_args()
    rng = random.Random(7)
    rs = rules(a.rules, rng)
    cfg = AutoreplyConfig.model_validate({"rules": rs})
    t = time.perf_counter()
    book = Book(entries_for(cfg, None, "g1", []))
    compile_ms = (time.perf_counter() - t) * 1000
    msgs = messages(a.messages, rng, rs)
    local = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # outside the rules' active hours
    answered = sum(1 for m in msgs if book.best(m, local))
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(
        f"rules {len(rs)} (compile {compile_ms:.0f} ms), messages {len(msgs)} "
        f"(half ~20, half ~100 chars), {answered} answered"
    )
    print(f"{'check':<20}{'p50 µs':>9}{'p99 µs':>9}{'mean µs':>9}")
    for name, n in (("best, 1000 rules", a.rules), ("best, 10 rules", 10)):
        b = book if n == a.rules else Book(entries_for(cfg, None, "g1", [])[:n])
        p50, p99, mean = timed(lambda m, b=b: b.best(m, local), msgs)
        print(f"{name:<20}{p50:>9.1f}{p99:>9.1f}{mean:>9.1f}")


if __name__ == "__main__":
    main()
