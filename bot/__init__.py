"""groupbot: a bot for running community groups (社群运营) on WeCom and OneBot."""

__version__ = "0.1.0"
