"""``/帮助``: the commands the sender may use here, built from the registry.

Rule: a member sees member commands; admins also see admin commands; in a private chat only
commands that work privately are listed, and in a group only commands that work in a group
(a command whose filters refuse this chat, such as the private-only ``/奖品``, is left out).
Every command a feature registers appears by itself.
"""

from __future__ import annotations

from bot import Context, Feature, Router, templates

router = Router("help")

T_HELP = templates.register(
    "help.list", "{bot} 可用指令：\n{commands}", "bot", "group", "commands", "role"
)
T_LINE = templates.register(
    "help.line",
    "{command} {usage} — {help}{aliases}",
    "command",
    "usage",
    "help",
    "aliases",
    "bot",
    "group",
)


@router.command("帮助", "help", "菜单", help="查看可用指令", private_ok=True)
async def show_help(ctx: Context) -> None:
    lines = []
    refused = {  # commands whose filters would not let them run in this chat
        route.command.name
        for router_ in ctx.services.routers
        for route in router_.routes
        if route.command is not None and not all(f(ctx) for f in route.filters)
    }
    for spec in ctx.services.registry.specs.values():
        if spec.role > ctx.role or spec.name in refused:
            continue
        if ctx.group_id is None and not spec.private_ok:
            continue
        aliases = f"（也可用 {' '.join('/' + a for a in spec.aliases)}）" if spec.aliases else ""
        line = ctx.render(
            T_LINE, command="/" + spec.name, usage=spec.usage, help=spec.help, aliases=aliases
        )
        lines.append(" ".join(line.split("  ")))
    await ctx.reply(ctx.render(T_HELP, commands="\n".join(lines), role=ctx.role.label))


FEATURE = Feature(name="help", router=router, templates=templates.owned_by(__name__))
