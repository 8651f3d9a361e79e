"""bot.storage.roster: imports, removals and the listing, sharing the store with the config and Telegram."""

from __future__ import annotations

from bot.chatbot.replies import status
from bot.storage.accounts import Store
from bot.storage.roster import IMPORT, NewAccount, Roster, same_reference
from tests.helpers_core import SUSPENDED, Clock, observe, rows, seen

ORDER = "Court order 2016/1234"


def test_an_import_adds_only_what_no_source_watches_with_its_reference_tags_and_note(store: Store,
                                                                                      clock: Clock) -> None:
    store.sync_watchlist([("from_config", ["cfg"])], clock.now)
    store.add_account("from_telegram", [], "telegram", 11, clock.now)
    roster = Roster(store.db)
    added = roster.add_imported([NewAccount("From_Config"), NewAccount("from_telegram"),
                                 NewAccount("newcomer", ("court", "tr"), "page 3")], ORDER, clock.now)
    assert [(a.handle, a.source, a.reference, a.tags) for a in added] == [("newcomer", IMPORT, ORDER, ("court", "tr"))]
    listed = {item.watched.account.handle: item for item in roster.listing()}
    assert (listed["from_config"].watched.account.source, listed["from_config"].watched.account.tags) == (
        "config", ("cfg",))
    assert listed["from_telegram"].watched.account.owner_telegram_id == 11
    assert listed["newcomer"].note == "page 3"
    assert roster.add_imported([NewAccount("NEWCOMER")], "another order", clock.now) == []
    assert [a.handle for a in roster.imported("court ORDER 2016/1234 ")] == ["newcomer"]


def test_an_account_removed_and_imported_again_keeps_its_id_history_and_state(store: Store, clock: Clock) -> None:
    roster = Roster(store.db)
    [first] = roster.add_imported([NewAccount("journo")], ORDER, clock.now)
    observe(store, "journo", seen(handle="journo", account_id="77"), clock.now)
    observe(store, "journo", seen(SUSPENDED, account_id="77"), clock.advance(60), confirmations=1)
    assert roster.unwatch([first.pk]) == 1
    assert roster.unwatch([first.pk]) == 0
    assert store.find_watched("journo") is None and len(store.transitions(handle="journo")) == 1
    [again] = roster.add_imported([NewAccount("Journo", ("later",))], "Order 2", clock.advance(60))
    assert (again.pk, again.account_id, again.reference, again.tags) == (first.pk, "77", "Order 2", ("later",))
    watched = store.find_watched("journo")
    assert watched is not None and watched.state is not None and watched.state.availability == SUSPENDED
    assert len(rows(store.db, "SELECT * FROM accounts")) == 1


def test_telegram_add_of_an_imported_account_keeps_where_it_came_from(store: Store, clock: Clock) -> None:
    roster = Roster(store.db)
    [imported] = roster.add_imported([NewAccount("journo", ("court",))], ORDER, clock.now)
    account = store.add_account("journo", ["extra"], "telegram", None, clock.now)
    assert (account.source, account.reference, account.tags) == (IMPORT, ORDER, ("court", "extra"))
    roster.unwatch([imported.pk])
    back = store.add_account("journo", [], "telegram", None, clock.now)  # dropped, then added on Telegram
    assert (back.source, back.reference) == ("telegram", None)


def test_status_on_telegram_names_the_import_and_its_reference(store: Store, clock: Clock) -> None:
    Roster(store.db).add_imported([NewAccount("journo")], "<Order> & co", clock.now)
    watched = store.find_watched("journo")
    assert watched is not None
    assert "Listed by an import (&lt;Order&gt; &amp; co); no owner." in status(watched, viewer=None, confirmations=2)


def test_references_are_listed_once_in_the_order_first_imported(store: Store, clock: Clock) -> None:
    roster = Roster(store.db)
    roster.add_imported([NewAccount("a"), NewAccount("b")], "Order B", clock.now)
    roster.add_imported([NewAccount("c")], "Order A", clock.now)
    roster.add_imported([NewAccount("d")], None, clock.now)
    assert roster.references() == ["Order B", "Order A"]
    assert same_reference("order  b", "Order B") and not same_reference(None, None)
