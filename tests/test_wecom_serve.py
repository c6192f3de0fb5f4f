"""WeCom end to end in a real ``groupbot serve`` process: the background worker syncs a customer
group after a signed ``change_external_chat`` callback, and keeps its state over a restart."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from bot.adapters import wecom_sign
from bot.adapters.wecom import WeComKeys
from tests.fakes.server import free_port
from tests.fakes.wecom_api import FakeWeCom
from tests.reliability.serve import ServeProcess, query, wait_for, write_config

pytestmark = pytest.mark.slow
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP = WeComKeys("apptoken", AES, "wwcorp")
CHAT = "wrServe1"
T0 = 1_763_400_000


async def test_serve_syncs_members_and_survives_restart(tmp_path: Path) -> None:
    async with FakeWeCom() as fake:
        fake.customer.add_chat(CHAT)
        fake.customer.add_member(CHAT, "wmOld", T0)
        port = free_port()
        cfg = write_config(
            tmp_path,
            port,
            f"""
[wecom]
corp_id = "wwcorp"
token = "{APP.token}"
encoding_aes_key = "{AES}"
secret = "corp-secret"
api_base = "{fake.url}"
[wecom.sync]
delay_s = 0
[[groups]]
id = "{CHAT}"
platform = "wecom"
""",
        )
        db = tmp_path / "bot.db"
        server = ServeProcess(cfg, tmp_path, port)
        try:
            async with aiohttp.ClientSession() as http:
                server.start()
                await server.wait_healthy(http)
                # the reconcile on start records the member already there, silently
                await wait_for(
                    lambda: query(db, "SELECT 1 FROM members WHERE user_id='wmOld'"), 20, "baseline"
                )
                fake.customer.add_member(CHAT, "wmNew", T0 + 60, invitor="staff1")
                xml = wecom_sign.external_chat_xml(CHAT, "update", "add_member", ("wmNew",))
                q, body = wecom_sign.sign_post_xml(APP, xml, int(time.time()), "serve-n1")
                async with http.post(f"{server.base}/wecom/callback", params=q, data=body) as r:
                    assert r.status == 200
                sql = "SELECT inviter_id FROM invites WHERE invitee_id='wmNew'"
                await wait_for(lambda: query(db, sql), 20, "invite credited")
                assert query(db, sql) == [("staff1",)]
                health = await (await http.get(f"{server.base}/healthz")).json()
                assert health["details"]["wecom"] == "ok"
                server.terminate()
                assert await server.wait_exit(20) == 0
                server.start()  # restart: nothing is emitted twice
                await server.wait_healthy(http)
                fake.customer.remove_member(CHAT, "wmOld")
                xml = wecom_sign.external_chat_xml(CHAT, "update", "del_member", ("wmOld",))
                q, body = wecom_sign.sign_post_xml(APP, xml, int(time.time()), "serve-n2")
                async with http.post(f"{server.base}/wecom/callback", params=q, data=body) as r:
                    assert r.status == 200
                gone = "SELECT in_group FROM members WHERE user_id='wmOld'"
                await wait_for(lambda: query(db, gone) == [(0,)], 20, "leave recorded")
            joins = query(db, "SELECT dedup_key FROM inbox WHERE kind='member_joined'")
            assert len(joins) == 1
        finally:
            server.close()
