"""The command table: each row carries the callable that runs its command; ``run`` finds it there."""

from __future__ import annotations

import pytest

from bot.chatbot import replies
from bot.chatbot.caller import Reply
from bot.chatbot.links import UsageError
from bot.chatbot.service import BY_NAME, COMMANDS, Command
from tests.helpers_bot import ADMIN, Bot


def test_a_row_cannot_be_made_without_the_callable_that_runs_it() -> None:
    with pytest.raises(TypeError):
        Command("ping", "Answer pong")  # type: ignore[call-arg]


def test_every_row_is_found_by_its_name_and_carries_a_callable() -> None:
    assert list(BY_NAME) == [command.name for command in COMMANDS]
    assert all(callable(command.handler) for command in COMMANDS)


async def answer(command: Command, bot: Bot) -> str:
    """What the row's own callable answers an admin in a private chat, without ``run``."""
    try:
        result = command.handler(bot.service, bot.private(ADMIN), [], bot.clock())
        if not isinstance(result, Reply | str):
            result = await result
    except UsageError as exc:
        return replies.usage(str(exc))
    return result.text if isinstance(result, Reply) else result


@pytest.mark.parametrize("command", COMMANDS, ids=[command.name for command in COMMANDS])
async def test_run_answers_each_command_with_the_callable_in_its_row(command: Command) -> None:
    through_run, direct = Bot(), Bot()  # two cores: a command's side effects must not change the other answer
    reply = await through_run.say(through_run.private(ADMIN), f"/{command.name}")
    assert reply.text == await answer(command, direct)
    assert reply.text and "Something went wrong" not in reply.text
