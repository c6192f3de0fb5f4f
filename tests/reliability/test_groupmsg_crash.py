"""企业群发 exactly once across a SIGKILL of `groupbot serve` between WeCom's answer and the
record of its ``msgid``.

Where it kills, exactly: the fake WeCom makes the first ``add_msg_template`` task, stops the
bot's process (SIGSTOP) before it writes its answer, writes the answer to the socket, then
kills the process (SIGKILL). The bot never reads the answer: its task row is left ``calling``
without a msgid (checked in the database). After the restart the task is found at WeCom
(``get_groupmsg_list_v2`` + ``get_groupmsg_task``) and adopted, the other two owners' tasks
are made, and WeCom has exactly one task per owner — 3 for 30 customer groups.
"""

from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from tests.fakes.server import free_port
from tests.fakes.wecom_api import FakeWeCom
from tests.reliability.serve import ServeProcess, query, wait_for, write_config

GROUPS = [f"wrC{i:02d}" for i in range(30)]
OWNERS = ["staff0", "staff1", "staff2"]
TEXT = "本周三会员福利日：全场 8 折"


def owner_of(gid: str) -> str:
    return OWNERS[int(gid[3:]) % 3]


def config_body(api: str, at: str) -> str:
    groups = "".join(
        f'[[groups]]\nid = "{g}"\nplatform = "wecom"\nname = "客户群{g}"\n'
        f'groupmsg = {{ owner = "{owner_of(g)}" }}\n'
        for g in GROUPS
    )
    return f"""
[wecom]
corp_id = "wwcorp"
secret = "corp-secret"
agent_id = 1000002
api_base = "{api}"
[wecom.sync]
enabled = false
[groupmsg]
gather_s = 1
call_lease_s = 2
poll_s = 5
[programme]
slots = [{{ id = "benefit", days = ["daily"], time = "{at}", content = "{TEXT}", key = true }}]
{groups}"""


@pytest.mark.slow
async def test_sigkill_after_wecom_answered_still_three_tasks(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with FakeWeCom() as fake, aiohttp.ClientSession() as http:
        for g in GROUPS:
            fake.customer.add_chat(g, name=f"客户群{g}", owner=owner_of(g))
        at = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(seconds=8)).strftime("%H:%M:%S")
        port = free_port()
        proc = ServeProcess(write_config(tmp_path, port, config_body(fake.url, at)), tmp_path, port)
        try:
            proc.start()
            await proc.wait_healthy(http)
            pid = proc.proc.pid if proc.proc else 0

            def stop() -> None:
                os.kill(pid, signal.SIGSTOP)

            async def kill() -> None:
                proc.kill()

            fake.groupmsg.before_answer = stop
            fake.groupmsg.after_create = kill
            await wait_for(lambda: fake.groupmsg.after_create is None, 90, "the first task")
            assert len(fake.groupmsg.tasks) == 1
            rows = query(db, "select owner, state, msgid from groupmsg_tasks order by id")
            first = next(r for r in rows if r[1] == "calling")
            assert first[2] == ""  # killed with WeCom's answer unread: no msgid recorded
            assert first[0] == next(iter(fake.groupmsg.tasks.values()))["sender"]

            proc.start()
            await proc.wait_healthy(http)

            def settled() -> bool:
                r = query(db, "select count(*) from groupmsg_tasks where msgid != ''")
                return bool(r[0][0] == 3)

            await wait_for(settled, 90, "three tasks recorded after the restart")
        finally:
            proc.close()

        assert fake.groupmsg.count("add_msg_template") == 3
        assert {o: sorted(c) for o, c in fake.groupmsg.by_sender().items()} == {
            o: sorted(g for g in GROUPS if owner_of(g) == o) for o in OWNERS
        }
        recorded = {r[0]: r[1] for r in query(db, "select owner, msgid from groupmsg_tasks")}
        assert recorded == {t["sender"]: m for m, t in fake.groupmsg.tasks.items()}
        assert fake.groupmsg.count("get_groupmsg_list_v2") >= 1  # the lookup happened
