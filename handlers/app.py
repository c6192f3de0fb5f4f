"""The composition root: the ``groupbot`` command runs the core with ``handlers.FEATURES``.

Nothing else puts the core and the features together; tests build their bot from the same
list (tests/harness.py)."""

from __future__ import annotations

from bot import cli
from handlers import FEATURES


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, FEATURES, entry="handlers.app")


if __name__ == "__main__":
    raise SystemExit(main())
