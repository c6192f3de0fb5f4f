"""Attachments of a 企业群发 task: images uploaded once as temporary media (``media/upload``)
and reused while fresh, links and mini programs in WeCom's shape; an image that cannot be read
fails the task alone and its groups get staff reminders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import ConfigError, parse_config
from handlers import FEATURES
from storage.models_groupmsg import GroupMsgMedia
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness
from tests.test_groupmsg import KEY_SLOT, config, fake, start, step

__all__ = ["fake"]


async def test_image_link_and_mini_program_uploaded_once(
    tmp_path: Path, fake: FakeWeCom, make_harness: Callable[..., Awaitable[Harness]]
) -> None:
    pic = tmp_path / "poster.png"
    pic.write_bytes(b"\x89PNG fake poster")
    attachments = [
        {"image": str(pic)},
        {"link": {"title": "福利日会场", "url": "https://shop.example/benefit"}},
        {
            "miniprogram": {
                "title": "小程序商城",
                "appid": "wx123",
                "page": "pages/i",
                "pic": str(pic),
            }
        },
    ]
    h = await start(make_harness, fake, config(fake, [{**KEY_SLOT, "attachments": attachments}]))
    await step(h.bot, h.clock, 90)
    await step(h.bot, h.clock, 30)
    assert len(fake.groupmsg.tasks) == 3
    assert len(fake.groupmsg.uploads) == 1  # one picture, three tasks: uploaded once
    mid = fake.groupmsg.uploads[0]
    for t in fake.groupmsg.tasks.values():
        assert t["attachments"] == [
            {"msgtype": "image", "image": {"media_id": mid}},
            {
                "msgtype": "link",
                "link": {"title": "福利日会场", "url": "https://shop.example/benefit"},
            },
            {
                "msgtype": "miniprogram",
                "miniprogram": {
                    "title": "小程序商城",
                    "pic_media_id": mid,
                    "appid": "wx123",
                    "page": "pages/i",
                },
            },
        ]
    async with h.bot.db.read() as s:
        (row,) = (await s.scalars(select(GroupMsgMedia))).all()
    assert row.media_id == mid
    # next Wednesday the cached id has expired (3 days): uploaded again
    await step(h.bot, h.clock, 7 * 24 * 3600 - 30)
    await step(h.bot, h.clock, 30)
    assert len(fake.groupmsg.tasks) == 6 and len(fake.groupmsg.uploads) == 2


async def test_an_unreadable_image_fails_the_task_and_reminds_the_owners(
    tmp_path: Path, fake: FakeWeCom, make_harness: Callable[..., Awaitable[Harness]]
) -> None:
    slot = {**KEY_SLOT, "attachments": [{"image": str(tmp_path / "missing.png")}]}
    h = await start(make_harness, fake, config(fake, [slot]))
    await step(h.bot, h.clock, 90)
    await step(h.bot, h.clock, 30)
    assert not fake.groupmsg.tasks
    assert len(fake.groupmsg.app_messages) == 30
    assert all("会员福利日" in m["text"]["content"] for m in fake.groupmsg.app_messages)


def test_attachments_are_checked_with_their_key_path() -> None:
    bad = {"programme": {"slots": [{**KEY_SLOT, "attachments": [{"image": "rel.png"}]}]}}
    with pytest.raises(ConfigError, match=r"programme\.slots\[0\]\.attachments\[0\]: .*absolute"):
        parse_config(bad, FEATURES, environ={})
