"""The WeCom app sender: ``message/send`` to one staff member through the app's token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.outbox.senders import Permanent, Retry
from bot.wecom_api import WeComError
from storage.models import OutboxMessage


class WeComAppSender:
    """A WeCom app message to one staff member (``message/send``, msgtype text, ``touser`` =
    the userid), through the app's access token (bot/wecom_api.py). Used for the staff
    reminders that ask a customer group's owner to post something by hand."""

    def __init__(self, client: Callable[[], Any], agent_id: int) -> None:
        self.client = client  # () -> WeComClient | None (built when first needed)
        self.agent_id = agent_id

    async def send(self, row: OutboxMessage) -> None:
        c = self.client()
        if c is None or not self.agent_id:
            raise Permanent("WeCom app messages need wecom.corp_id, wecom.secret and agent_id")
        user = str(row.payload.get("user_id", ""))
        body = {
            "touser": user,
            "msgtype": "text",
            "agentid": self.agent_id,
            "text": {"content": str(row.payload.get("text", ""))},
        }
        try:
            data = await c.call("message/send", body)
        except WeComError as exc:
            if exc.retryable:
                raise Retry(str(exc)) from exc
            raise Permanent(str(exc)) from exc
        if user in str(data.get("invaliduser", "")).split("|"):
            raise Permanent(f"invaliduser {user}: not a member of the app's visible range")
