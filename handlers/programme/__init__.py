"""The programme table (节目表). Placeholder until the feature lands."""

from __future__ import annotations

from bot.dispatch.router import Router

router = Router("programme")
