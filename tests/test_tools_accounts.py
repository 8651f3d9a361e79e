"""bot.tools.accounts in process: `remove` closes an owner's subscription as Telegram's /remove does, and refuses
all of a removal when one handle is the config's."""

from __future__ import annotations

from pathlib import Path

from bot.chatbot.ownership import NOT_OWNER, owner_key
from bot.config.model import load_config
from bot.sandbox.configs import sandbox_config, write_config
from bot.storage.accounts import Store, open_db
from bot.storage.outbox import Outbox, SubscriberSpec
from bot.tools.accounts import account_rows, remove_handles
from tests.helpers_core import Clock, rows

OWNER = 4242


def setup(tmp_path: Path, clock: Clock) -> tuple[Path, Store]:
    path = write_config(tmp_path, sandbox_config(x_url="http://127.0.0.1:9", watchlist=[{"handle": "in_config"}]))
    db = open_db(tmp_path / "presswatch.db")
    store = Store(db, Outbox(db))
    store.sync_watchlist([("in_config", ())], clock.now)
    owned = store.add_account("owned_one", [], "telegram", OWNER, clock.now)
    sub = store.outbox.upsert_subscriber(SubscriberSpec(key=owner_key(OWNER, owned.pk), name="owner",
                                                        channel="telegram", address=str(OWNER),
                                                        accounts=(owned.pk,), source="telegram"), clock.now)
    assert sub
    return path, store


def test_removing_an_owned_account_closes_its_owners_subscription(tmp_path: Path, clock: Clock) -> None:
    path, store = setup(tmp_path, clock)
    config = load_config(path, env={"X_BEARER_TOKEN": "token"})
    removal = remove_handles(config, path, ["owned_one"])
    assert [a.handle for a in removal.removed] == ["owned_one"] and removal.missing == removal.in_config == []
    [sub] = rows(store.db, "SELECT enabled, disabled_reason FROM subscribers WHERE key LIKE 'owner:%'")
    assert (sub["enabled"], sub["disabled_reason"]) == (0, NOT_OWNER)
    assert [r["handle"] for r in account_rows(config)] == ["in_config"]


def test_one_config_handle_refuses_the_whole_removal(tmp_path: Path, clock: Clock) -> None:
    path, store = setup(tmp_path, clock)
    config = load_config(path, env={"X_BEARER_TOKEN": "token"})
    removal = remove_handles(config, path, ["owned_one", "IN_CONFIG"])
    assert removal.removed == [] and len(removal.in_config) == 1
    assert "@in_config is in the config" in removal.in_config[0]
    assert store.find_watched("owned_one") is not None


def test_an_imported_account_the_config_now_lists_is_the_configs_to_remove(tmp_path: Path, clock: Clock) -> None:
    """The operator added an imported handle to the YAML; the daemon has not read it yet (the row is still the
    import's): remove still sends them to the file, since the next start would watch it again anyway."""
    path, store = setup(tmp_path, clock)
    store.add_account("listed_too", [], "import", None, clock.now)
    path.write_text(path.read_text().replace("- handle: in_config", "- handle: in_config\n- handle: Listed_Too"))
    config = load_config(path, env={"X_BEARER_TOKEN": "token"})
    removal = remove_handles(config, path, ["listed_too"])
    assert removal.removed == []
    [line] = removal.in_config
    assert line.startswith(f"@listed_too is in the config ({path}, line ") and line.endswith("the watchlist there")
    assert store.find_watched("listed_too") is not None
