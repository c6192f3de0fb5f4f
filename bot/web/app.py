"""The aiohttp application: routes, auth, health, metrics, and the bot's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.health import database_writable, events_flowing
from bot.runtime import Bot
from bot.state import HEALTH, HEALTH_DETAILS, LEADER
from bot.web import api, dashboard, ingest
from bot.web.auth import token_middleware
from bot.web.ingest import BOT


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers and takes writes, stored events get handled in time and
    the periodic jobs' runner (or the worker process that runs it) runs; 503 with details
    otherwise."""
    bot = request.app[BOT]
    checks = {"database": await bot.db.ping(), "database_writable": await database_writable(bot)}
    if not bot.ingest_only:  # (split_worker: the worker process runs the jobs)
        checks["scheduler"] = bot.jobs.running
    if bot.processes_events:  # here, or by split_worker's worker process
        checks["events_flowing"] = await events_flowing(bot)
    state = bot.services.state
    for name, check in state.need(HEALTH).items():
        checks[name] = check() if callable(check) else check
    ok = all(v is True for v in checks.values())
    body: dict[str, object] = {"status": "ok" if ok else "degraded", "checks": checks}
    # runs the periodic jobs (one instance at a time; split_worker: its worker process)
    leads = state.get(LEADER)
    body["leader"] = await leads() if leads is not None else bot.leader.is_leader
    details = state.need(HEALTH_DETAILS)
    if details:  # standing problems that do not stop the bot (e.g. WeCom 60020)
        body["details"] = {k: v() if callable(v) else v for k, v in details.items()}
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    return web.Response(body=bot.metrics.render(), content_type="text/plain", charset="utf-8")


def create_app(bot: Bot, *, manage: bool = True) -> web.Application:
    """The web app for ``bot`` and its features. With ``manage`` the app starts and stops
    the bot."""
    app = web.Application(
        client_max_size=bot.config.server.max_body_bytes,
        middlewares=[token_middleware(bot.config.bot.api_token)],
    )
    app[BOT] = bot
    ingest.setup(app)
    api.setup(app)
    for f in bot.features:
        if f.web is not None:
            f.web(app)
    dashboard.setup(app, [p for f in bot.features for p in f.pages])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)

    if manage:

        async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
            await bot.start()
            yield
            await bot.stop()

        app.cleanup_ctx.append(lifecycle)
    return app
