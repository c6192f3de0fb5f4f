"""``groupbot check-config``: key shapes, the encrypted round trip, and ``--online`` gettoken."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.config import parse_config
from bot.selftest import round_trip, run_checks
from handlers import FEATURES
from tests.fakes.wecom_api import FakeWeCom

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def wecom(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "corp_id": "wwcorp",
        "token": "apptoken",
        "encoding_aes_key": AES,
        "secret": "corp-secret",
        "aibot": {"token": "aibottoken", "encoding_aes_key": AES[::-1]},
    }
    base.update(over)
    return base


async def test_good_keys_round_trip() -> None:
    assert round_trip("wecom", "apptoken", AES, "wwcorp") == []
    assert await run_checks(parse_config({"wecom": wecom()}, FEATURES, environ={})) == []


async def test_bad_shapes_name_their_keys() -> None:
    cfg = parse_config(
        {"wecom": wecom(token="x", aibot={"token": "ok-token", "encoding_aes_key": AES})},
        FEATURES,
        environ={},
    )
    problems = await run_checks(cfg)
    assert "wecom.token: must be 3-32 letters or digits" in problems
    assert "wecom.aibot.token: must be 3-32 letters or digits" in problems  # '-' is not allowed
    assert len(problems) == 2  # no round trip is tried with keys of the wrong shape


async def test_online_reports_wecom_answer() -> None:
    async with FakeWeCom() as fake:
        good = parse_config({"wecom": wecom(api_base=fake.url)}, FEATURES, environ={})
        assert await run_checks(good, online=True) == []
        assert fake.tokens_issued == 1
        bad = parse_config(
            {"wecom": wecom(api_base=fake.url, secret="wrong")}, FEATURES, environ={}
        )
        problems = await run_checks(bad, online=True)
        assert len(problems) == 1 and "errcode 40001" in problems[0]
        assert problems[0].startswith("wecom.secret:")
        fake.customer.ip_untrusted = True
        problems = await run_checks(good, online=True)
        assert "60020" in problems[0] and "trusted IP" in problems[0]


async def test_cli_online_exit_codes(tmp_path: Path) -> None:
    async with FakeWeCom() as fake:
        path = tmp_path / "c.toml"
        path.write_text(
            f'[wecom]\ncorp_id = "wwcorp"\nsecret = "corp-secret"\napi_base = "{fake.url}"\n',
            encoding="utf-8",
        )

        async def run() -> tuple[int, str]:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "handlers.app", "check-config", "-c", str(path), "--online",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await proc.communicate()
            return proc.returncode or 0, (out + err).decode()

        code, text = await run()
        assert code == 0 and "gettoken ok" in text
        fake.customer.ip_untrusted = True
        code, text = await run()
        assert code == 2 and "60020" in text
