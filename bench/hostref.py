"""How fast the host runs right now: a fixed piece of work, timed, printed beside the figures.

A shared host's speed drifts (the same code, minutes apart, has run a third faster or slower
here), so a figure alone says little about the code. Every benchmark that prints figures
prints this reference taken just before and just after its runs: figures are comparable
between sittings only when the references are alike, and a run whose two references differ
widely ran through a change of pace.

The work is what a server of this kind spends its time on, in one process and thread: JSON
decoding and encoding of an event, an HMAC signature, dict and string work, and SQLite inserts
and a commit in memory. Its CPU time is counted (a busy sibling core or a neighbour's cache
traffic slows it; waiting for a core does not). Lower is faster. Here the host's pace has
swung between ~60 and ~160 ms within seconds (steady within a tenth), so the reference is the
median of twenty tenths of the work over two seconds, and ``Probe`` times a tenth every
second through the runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time

_EVENT = json.dumps(
    {
        "post_type": "message",
        "message_type": "group",
        "group_id": 10001,
        "user_id": 20002,
        "message_id": 30003,
        "message": [{"type": "text", "data": {"text": "/签到"}}],
        "raw_message": "/签到",
        "sender": {"user_id": 20002, "nickname": "小明", "card": "小明 同学", "role": "member"},
        "time": 1_765_000_000,
        "self_id": 1,
    },
    ensure_ascii=False,
).encode()


def _unit() -> float:
    """A tenth of the reference work; its CPU time in s (set-up not counted)."""
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
    t0 = time.thread_time()
    for i in range(200):
        ev = json.loads(_EVENT)
        ev["message_id"] = i
        body = json.dumps(ev, ensure_ascii=False)
        sig = hmac.new(b"secret", body.encode(), hashlib.sha1).hexdigest()
        fields = {k: str(v) for k, v in ev.items() if not isinstance(v, dict | list)}
        con.execute("INSERT INTO t VALUES (?, ?)", (f"{sig}:{len(fields)}", body))
        if i % 50 == 49:
            con.commit()
    spent = time.thread_time() - t0
    con.close()
    return spent


def reference_ms(units: int = 20, gap_s: float = 0.1) -> float:
    """The reference work's CPU time in ms: the median of ``units`` tenths ``gap_s`` apart,
    times ten."""
    spent = []
    for _ in range(units):
        spent.append(_unit())
        time.sleep(gap_s)
    return statistics.median(spent) * 10_000


class Probe:
    """The reference's pace *during* the runs, from a process beside them: every second a
    tenth of the reference work, timed (about 1 % of one core). The host's pace changes
    within seconds here, so a reference taken only before and after can miss what the runs
    met. ``start()`` before the runs, ``stop()`` after: the median and the range, in the
    reference's ms."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, __file__, "--probe"], stdout=subprocess.PIPE, text=True
        )

    def stop(self) -> str:
        proc, self._proc = self._proc, None
        if proc is None:
            return ""
        proc.terminate()
        out, _ = proc.communicate()
        ms = sorted(float(x) for x in out.split())
        if not ms:
            return "no probe"
        return f"median {statistics.median(ms):.1f} ({ms[0]:.1f}–{ms[-1]:.1f}, {len(ms)} probes)"


def _probe() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            print(f"{_unit() * 10_000:.2f}", flush=True)
            time.sleep(1)
    except BrokenPipeError:  # (the benchmark was stopped)
        sys.exit(0)


def machine(extra: str = "", before: float | None = None, during: str = "") -> str:
    """The benchmarks' first line: cores, Python, what was measured, and the host reference
    now (with ``before``, the one taken before the runs, and ``during``, a ``Probe``'s
    figures, when given)."""
    tail = f", {extra}" if extra else ""
    now = reference_ms()
    ref = f"{now:.1f} ms" if before is None else f"{before:.1f} ms before the runs, {now:.1f} after"
    if during:
        ref += f", during: {during}"
    return (
        f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}{tail}; "
        f"host reference {ref} (bench/hostref.py; lower is faster)"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--probe"]:
        _probe()
    else:
        print(machine())
