"""CPU per event at everyday load, NoneBot2 beside groupbot, in one sitting.

    python bench/bench_peer.py [--rates 20] [--mix chat,mixed] [--seconds 30] [--rounds 2]
                               [--no-groupbot]

The peer most operators would pick instead: NoneBot2 (``nonebot2[aiohttp]==2.5.0``,
``nonebot-adapter-onebot==2.4.6``, in a virtualenv made once under ``~/.cache/groupbot-bench``)
as its own process, aiohttp driver, one plugin (``bench/peer_nonebot/nb_checkin.py``: ``/签到``
records the check-in in SQLite, WAL, one row per group, member and day plus the member's total
in the same transaction, and replies with the total). The driver is a client, so the adapter
dials a forward WebSocket to a fake OneBot v11 implementation in this process, which pushes
``bench_light``'s events (members, groups, texts; ``chat`` is plain chat, ``mixed`` makes every
third message a ``/签到``) and a heartbeat every 5 s, as implementations do, and answers every
API call. Per run: connect, 60 events of warm-up and their replies, the idle CPU over 5 s, then
a steady ``rate`` events/s for ``--seconds``. The figure, as ``bench_light``'s for groupbot: the
bot process's CPU (user + system, /proc, with children) from the first event until every
check-in is answered, over the events sent. Checked: one reply per check-in ("今天已经签到过了"
for a second the same day), each member's check-in stored once. p50/p99: NoneBot2, a check-in
pushed → its reply received; groupbot, an event stored → processed (``bench_light``'s wait).

For each mix and rate the two alternate (ABBA) for ``--rounds`` rounds; ``ratio`` is NoneBot2's
ms/event over groupbot's in the same round. The host's pace drifts twofold between sittings, so
only the ratio carries over. groupbot does more per event (a durable inbox and outbox, member
tracking, moderation, stats) and verifies a signed HTTP POST; NoneBot2 keeps only the check-in
and reads a WebSocket. Both log at ERROR.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_callbacks import free_port
from bench.bench_light import body, figures, server_ticks
from bench.bench_light import run as run_groupbot
from bench.hostref import Probe, machine, reference_ms

PINS = ("nonebot2[aiohttp]==2.5.0", "nonebot-adapter-onebot==2.4.6")
PEER = Path(__file__).resolve().parent / "peer_nonebot"
SELF_ID = 1
HEARTBEAT_S = 5.0
ALREADY = "今天已经签到过了"


def peer_python() -> Path:
    """The NoneBot2 virtualenv's python, made on first use and reused after."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "groupbot-bench"
    v = sys.version_info
    versions = "-".join(pin.rsplit("==", 1)[1] for pin in PINS)  # (a new pin: a new venv)
    venv = cache / f"nonebot-{versions}-py{v.major}{v.minor}"
    py, done = venv / "bin" / "python", venv / ".installed"
    if not done.exists():
        print(f"making {venv} ({', '.join(PINS)})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, *PINS], check=True)
        done.write_text("\n".join(PINS) + "\n", encoding="utf-8")
    return py


def event(i: int, checkin: bool, rnd: random.Random) -> dict[str, Any]:
    """``bench_light``'s event with the fields a OneBot v11 implementation always sends (and
    NoneBot2's event model requires)."""
    ev: dict[str, Any] = json.loads(body(i, checkin, rnd))
    text = ev["message"][0]["data"]["text"]
    ev.update(self_id=SELF_ID, sub_type="normal", raw_message=text, font=0)
    ev["sender"]["user_id"] = ev["user_id"]
    return ev


def is_checkin(ev: dict[str, Any]) -> bool:
    return bool(ev["message"][0]["data"]["text"] == "/签到")


def meta(kind: str, **extra: Any) -> str:
    ev = {"time": int(time.time()), "self_id": SELF_ID, "post_type": "meta_event"}
    return json.dumps({**ev, "meta_event_type": kind, **extra})


class FakeOneBot:
    """The OneBot v11 side of a forward WebSocket: pushes events, answers API calls, counts
    replies (and how long each check-in waited for its own)."""

    def __init__(self) -> None:
        self.ws: web.WebSocketResponse | None = None
        self.connected = asyncio.Event()
        self.replies = self.already = 0
        self.target = 0
        self.reached = asyncio.Event()
        self.pending: dict[int, deque[float]] = defaultdict(deque)
        self.latency: list[float] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(meta("lifecycle", sub_type="connect"))  # NoneBot2 waits for this
        self.ws = ws
        self.connected.set()
        beat = asyncio.create_task(self.heartbeat(ws))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await ws.send_str(json.dumps(self.answer(json.loads(msg.data))))
        finally:
            beat.cancel()
        return ws

    async def heartbeat(self, ws: web.WebSocketResponse) -> None:
        status = {"online": True, "good": True}
        while not ws.closed:
            await asyncio.sleep(HEARTBEAT_S)
            await ws.send_str(meta("heartbeat", status=status, interval=int(HEARTBEAT_S * 1000)))

    def answer(self, call: dict[str, Any]) -> dict[str, Any]:
        action, params = call.get("action", ""), call.get("params") or {}
        data: Any = None
        if action in ("send_msg", "send_group_msg", "send_private_msg"):
            self.replies += 1
            data = {"message_id": 1_000_000 + self.replies}
            self.already += ALREADY in json.dumps(params.get("message"), ensure_ascii=False)
            sent = self.pending.get(int(params.get("user_id", 0)))
            if sent:
                self.latency.append(time.perf_counter() - sent.popleft())
            if self.replies >= self.target:
                self.reached.set()
        elif action == "get_login_info":
            data = {"user_id": SELF_ID, "nickname": "bench"}
        return {"status": "ok", "retcode": 0, "data": data, "echo": call.get("echo")}

    async def push(self, events: list[dict[str, Any]], rate: float) -> None:
        """Each event at its own moment (``start + i / rate``)."""
        assert self.ws is not None
        start = time.perf_counter()
        for i, ev in enumerate(events):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if is_checkin(ev):
                self.pending[ev["user_id"]].append(time.perf_counter())
            await self.ws.send_str(json.dumps(ev, ensure_ascii=False))

    async def replied(self, target: int) -> None:
        self.target = target
        self.reached.clear()
        if self.replies < target:
            await self.reached.wait()


async def run_peer(py: Path, mix: str, rate: float, seconds: float, tmp: Path) -> dict[str, Any]:
    for f in list(tmp.glob("nb.db*")):  # noqa: ASYNC240  (set-up, before anything runs)
        f.unlink()
    db, log = tmp / "nb.db", tmp / "nb.log"
    rnd = random.Random(7)
    every = 3 if mix == "mixed" else 0
    n = int(rate * seconds)
    events = [event(i, every > 0 and i % every == 0, rnd) for i in range(n + 60)]
    checkins = [e["user_id"] for e in events if is_checkin(e)]
    warm, load = events[:60], events[60:]
    fake, app = FakeOneBot(), web.Application()
    app.router.add_get("/onebot/v11/ws", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TZ") if k in os.environ}
    env |= {
        "DRIVER": "~aiohttp",
        "ONEBOT_WS_URLS": json.dumps([f"ws://127.0.0.1:{port}/onebot/v11/ws"]),
        "LOG_LEVEL": "ERROR",
        "CHECKIN_DB": str(db),
    }
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(py), str(PEER / "bot.py")], cwd=tmp, env=env, stdout=err, stderr=err
        )
    hz = os.sysconf("SC_CLK_TCK")
    try:
        await asyncio.wait_for(fake.connected.wait(), 60)
        await fake.push(warm, 30)  # imports, caches, first rows
        await asyncio.wait_for(fake.replied(sum(map(is_checkin, warm))), 60)
        await asyncio.sleep(2)
        t0, c0 = time.perf_counter(), server_ticks(proc.pid)
        await asyncio.sleep(5)
        idle = (server_ticks(proc.pid) - c0) / hz / (time.perf_counter() - t0)
        fake.latency.clear()
        t0, c0 = time.perf_counter(), server_ticks(proc.pid)
        await fake.push(load, rate)
        await asyncio.sleep(0.1)  # (chat has no reply to wait for: its last events' handling)
        await asyncio.wait_for(fake.replied(len(checkins)), 120)
        elapsed = time.perf_counter() - t0
        cpu = (server_ticks(proc.pid) - c0) / hz
    except TimeoutError:
        sys.stderr.write(log.read_text(encoding="utf-8")[-3000:])
        raise
    finally:
        proc.terminate()
        proc.wait(30)
        await runner.cleanup()
    con = sqlite3.connect(db)
    rows, members = con.execute("select count(*), count(distinct user_id) from checkin").fetchone()
    con.close()
    distinct = len(set(checkins))
    lat = sorted(fake.latency) or [float("nan")]
    problems = []
    if fake.replies != len(checkins):
        problems.append(f"{fake.replies}/{len(checkins)} replies")
    if fake.already != len(checkins) - distinct:
        problems.append(f"{fake.already}/{len(checkins) - distinct} 'already'")
    if (rows, members) != (distinct, distinct):
        problems.append(f"{rows} rows/{distinct}")
    return {
        **figures(n, elapsed, cpu, idle, lat),
        "check": ", ".join(problems) or f"ok ({len(checkins)} replies, {distinct} rows)",
    }


def row(peer: str, mix: str, rate: float, r: dict[str, Any], ratio: str, check: str) -> str:
    return (
        f"{peer:<10}{mix:<7}{rate:>7.0f}{r['n']:>7.0f}{r['elapsed']:>6.1f}"
        f"{r['ms_per_event']:>10.2f}{r['cpu_pct']:>6.1f}%{r['idle_ms_per_s']:>10.1f}"
        f"{r['p50']:>8.1f}{r['p99']:>8.1f}{ratio:>7}  {check}"
    )


def one_round(py: Path, mix: str, rate: float, a: argparse.Namespace, k: int) -> float | None:
    """Both peers, NoneBot2 first in even rounds; prints their rows, returns the ratio."""
    res: dict[str, dict[str, Any]] = {}
    for peer in ["nonebot2", "groupbot"][:: 1 if k % 2 == 0 else -1]:
        if peer == "nonebot2":
            res[peer] = asyncio.run(run_peer(py, mix, rate, a.seconds, a.tmp))
        elif not a.no_groupbot:
            res[peer] = asyncio.run(run_groupbot(mix, rate, a.seconds, a.tmp))
    nb, gb = res["nonebot2"], res.get("groupbot")
    ratio = None if gb is None else nb["ms_per_event"] / gb["ms_per_event"]
    print(row("nonebot2", mix, rate, nb, f"{ratio:.2f}" if ratio else "", nb["check"]))
    if gb is not None:
        check = f"lost {gb['lost']:.0f}, dup {gb['dup']:.0f}"
        g = {**gb, "p50": gb["wait50"], "p99": gb["wait99"]}
        print(row("groupbot", mix, rate, g, "", check), flush=True)
    return ratio


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rates", default="20", help="events per second (comma-separated)")
    p.add_argument("--mix", default="chat,mixed", help="chat and/or mixed")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--no-groupbot", action="store_true", help="NoneBot2 only")
    a = p.parse_args()
    py = peer_python()
    print(machine(f"NoneBot2 ({', '.join(PINS)}) beside groupbot, SQLite"))
    probe = Probe()
    probe.start()
    print(
        f"{'peer':<10}{'mix':<7}{'rate/s':>7}{'events':>7}{'secs':>6}{'cpu ms/ev':>10}"
        f"{'cpu %':>7}{'idle ms/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'ratio':>7}  check"
    )
    summary: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        a.tmp = Path(d)
        for mix in a.mix.split(","):
            for rate in (float(x) for x in a.rates.split(",")):
                got = [one_round(py, mix, rate, a, k) for k in range(a.rounds)]
                ratios = [x for x in got if x is not None]
                if ratios:
                    each = ", ".join(f"{x:.2f}" for x in ratios)
                    med = statistics.median(ratios)
                    summary.append(f"{mix} {rate:.0f}/s: ratio {each} (median {med:.2f})")
    during = probe.stop()
    print("\n".join(summary))
    print(f"host reference after the runs: {reference_ms():.1f} ms, during: {during}")


if __name__ == "__main__":
    main()
