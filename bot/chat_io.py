"""The terminal side of ``groupbot chat``: lines are read without blocking the event loop, what
the bot says on its own is printed as it happens, and Ctrl-C ends the session at once.

Rules:
- stdin is read by a daemon thread of its own (never the loop's default executor: a blocked
  read there keeps ``asyncio.run`` from ever returning); lines reach the loop through a queue,
  end of input as ``None``.
- While nothing is typed, what jobs and the outbox produced (a greeting flushed after a join,
  a programme post, a retried send) is processed and printed every ``POLL_S`` seconds.
- On a terminal the prompt is redrawn under every line printed while it is shown, so output
  appears above it.
- SIGINT (Ctrl-C) cancels what the session is doing and ends it with exit code 130; the bot
  is then stopped as on any exit. A second Ctrl-C gets Python's own handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TextIO, TypeVar

POLL_S = 0.5
EXIT_INTERRUPTED = 130
T = TypeVar("T")


class Terminal:
    """Where the session writes: bot output above the prompt, the prompt when interactive."""

    def __init__(self, out: TextIO, interactive: bool) -> None:
        self.out = out
        self.interactive = interactive
        self._prompt = ""
        self._shown = False

    def prompt(self, text: str) -> None:
        """Show the prompt (interactive only); it stays until a line is typed."""
        self._prompt = text
        if self.interactive:
            self.out.write(text)
            self.out.flush()
            self._shown = True

    def typed(self) -> None:
        """A line was entered: the cursor is on a fresh line, the prompt is gone."""
        self._shown = False

    def line(self, text: str) -> None:
        """Print ``text``; with the prompt shown, above it (the prompt is drawn again)."""
        if self._shown:
            self.out.write("\r\x1b[K" + text + "\n" + self._prompt)
        else:
            self.out.write(text + "\n")
        self.out.flush()


class LineReader:
    """Lines of ``stream``, read by a daemon thread and handed to the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stream: TextIO) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = loop
        self._stream = stream
        threading.Thread(target=self._read, name="chat-stdin", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                line: str | None = self._stream.readline() or None
            except (OSError, ValueError):
                line = None
            try:
                self._loop.call_soon_threadsafe(self.queue.put_nowait, line)
            except RuntimeError:  # the loop is closed: the session is over
                return
            if line is None:
                return


class Interrupted(Exception):
    """Ctrl-C was pressed."""


class Interrupts:
    """SIGINT sets an event the session waits on beside its work (removed on exit)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.event = asyncio.Event()
        self._installed = False
        self._waiter: asyncio.Task[Any] | None = None

    def __enter__(self) -> Interrupts:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals here
            self._loop.add_signal_handler(signal.SIGINT, self.event.set)
            self._installed = True
        self._waiter = asyncio.ensure_future(self.event.wait())
        return self

    def __exit__(self, *_: object) -> None:
        if self._installed:
            self._loop.remove_signal_handler(signal.SIGINT)
        if self._waiter is not None:
            self._waiter.cancel()

    async def run(self, work: Awaitable[T], within_s: float | None = None) -> T:
        """``work``'s result; TimeoutError when ``within_s`` passed first, Interrupted when
        Ctrl-C came first (``work`` is cancelled either way). The bound is ``asyncio.wait``'s
        own, not a cancellation from outside: a line taken from the queue in the same turn
        as the time ran out is returned, never lost."""
        assert self._waiter is not None
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait(
            {task, self._waiter}, timeout=within_s, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if self._waiter in done:
            raise Interrupted
        raise TimeoutError


async def converse(
    reader: LineReader,
    term: Terminal,
    prompt: Callable[[], str],
    handle: Callable[[str], Awaitable[bool]],
    background: Callable[[], Awaitable[None]],
    ready: Callable[[], None] = lambda: None,
) -> int:
    """Read and handle lines until ``:quit``, end of input (exit 0) or Ctrl-C (130); while
    waiting for a line, run ``background`` every ``POLL_S`` seconds. ``ready`` runs once Ctrl-C
    is handled here (the banner: a Ctrl-C right after it ends the session like any other)."""
    loop = asyncio.get_running_loop()
    with Interrupts(loop) as stop:
        try:
            ready()
            while True:
                term.prompt(prompt())
                line = await _next_line(reader, stop, background)
                term.typed()
                if line is None or not await stop.run(handle(line)):
                    return 0
        except Interrupted:
            term.typed()
            term.line("")
            return EXIT_INTERRUPTED


async def _next_line(
    reader: LineReader, stop: Interrupts, background: Callable[[], Awaitable[None]]
) -> str | None:
    while True:
        try:
            return await stop.run(reader.queue.get(), within_s=POLL_S)
        except TimeoutError:
            await stop.run(background())
