"""The NoneBot2 bot that ``bench/bench_peer.py`` runs in its own virtualenv (never imported by
the project): the OneBot v11 adapter, the aiohttp driver, one check-in plugin.

Configured from the environment like any NoneBot2 bot (``DRIVER``, ``ONEBOT_WS_URLS``,
``LOG_LEVEL``, ``CHECKIN_DB``); the bench sets them.
"""

import nonebot
from nonebot.adapters.onebot.v11 import Adapter

nonebot.init()
nonebot.get_driver().register_adapter(Adapter)
nonebot.load_plugin("nb_checkin")  # this file's folder is on sys.path (the script's own)

if __name__ == "__main__":
    nonebot.run()
