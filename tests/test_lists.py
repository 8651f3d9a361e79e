"""bot.lists: account lists as they come in, a court order turned to text, a hand-kept list, a spreadsheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.lists import AccountList, Invalid, Repeat, parse_tags, read_list

COURT_ORDER = Path(__file__).parent / "data" / "court_order.txt"
TOO_LONG = "not an X handle: {n} characters, X allows at most 15"
NOT_HANDLE = "not an X handle: 1 to 15 letters a-z, digits or underscores"


def handles(found: AccountList) -> list[tuple[int, str]]:
    return [(entry.line, entry.handle) for entry in found.entries]


def test_a_court_order_in_turkish_and_hindi_yields_exactly_its_handles_repeats_once_and_every_invalid_line() -> None:
    found = read_list(COURT_ORDER.read_text(encoding="utf-8"))
    assert found.format == "text"
    assert handles(found) == [
        (8, "MahirZeynalov"), (9, "ErisimEngeli"), (10, "basin_ozgur"), (11, "GazeteciAhmet"),
        (12, "sansur_izleme"), (13, "eski_hesap"), (19, "haber_ajansi"), (26, "KisanEktaMorcha"),
        (26, "Tractor2twitr"), (27, "kisan_vani"),
    ]
    # Each repeat is named once, with every line naming it, whatever its case or form.
    assert found.repeats == (Repeat("MahirZeynalov", (8, 14)), Repeat("basin_ozgur", (10, 18)),
                             Repeat("Tractor2twitr", (26, 27)))
    assert found.invalid == (
        Invalid(1, "T.C.", NOT_HANDLE),
        Invalid(15, "https://x.com/i/user/1234567890", "a link to an account by its number: give the account's handle"),
        Invalid(16, "@bu_kullanici_adi_cok_uzun", TOO_LONG.format(n=25)),
        Invalid(16, "@ahmetşık", NOT_HANDLE),
        Invalid(17, "twitter.com/home", "a link to X's 'home' page, not to an account"),
        Invalid(21, "x.com/abcdefghijklmnopq", TOO_LONG.format(n=17)),
        Invalid(28, "2", "only digits, like a number or a page: write @2 if it is a handle"),
    )


@pytest.mark.parametrize(("line", "handle"), [
    ("@MahirZeynalov", "MahirZeynalov"),
    ("https://x.com/MahirZeynalov", "MahirZeynalov"),
    ("http://twitter.com/MahirZeynalov/", "MahirZeynalov"),
    ("https://mobile.twitter.com/MahirZeynalov?ref_src=twsrc%5Etfw", "MahirZeynalov"),
    ("https://www.x.com/MahirZeynalov/status/778512345678901234?s=20&t=abc", "MahirZeynalov"),
    ("twitter.com/MahirZeynalov/status/1/photo/1", "MahirZeynalov"),
    ("https://m.twitter.com/MahirZeynalov/with_replies", "MahirZeynalov"),
    ("https://twitter.com/#!/MahirZeynalov", "MahirZeynalov"),
    ("https://x.com/@MahirZeynalov", "MahirZeynalov"),
    ("https://twitter.com/intent/user?screen_name=MahirZeynalov", "MahirZeynalov"),
    ("(bkz. https://x.com/MahirZeynalov).", "MahirZeynalov"),
    ("<a href=\"https://twitter.com/MahirZeynalov\">link</a>", "MahirZeynalov"),
    ("Gazeteci @MahirZeynalov'un hesabı", "MahirZeynalov"),
    ("Gazeteci @MahirZeynalov’ın paylaşımı", "MahirZeynalov"),
    ("खाता @MahirZeynalov। रोका गया", "MahirZeynalov"),
    ("hesaplar: @MahirZeynalov, @x;", "MahirZeynalov"),
    ("1. MahirZeynalov", "MahirZeynalov"),
    ("(12) MahirZeynalov", "MahirZeynalov"),
    ("• MahirZeynalov,", "MahirZeynalov"),
    ("   MahirZeynalov   ", "MahirZeynalov"),
])
def test_every_form_of_a_handle_or_link_names_its_account(line: str, handle: str) -> None:
    found = read_list(line)
    assert [entry.handle for entry in found.entries][:1] == [handle], found
    assert found.invalid == ()


@pytest.mark.parametrize("line", [
    "press@example.org wrote to us",  # an email address, not a mention
    "Sayfa 2/2",  # running text
    "see fox.com/MahirZeynalov and dropbox.com/s/abc",  # other sites
    "x.com and twitter.com are the same site",
    "-----------",
    "# accounts from the 2021 order",  # a comment
    "निर्णय",  # one word of another script
    "@ alone",
])
def test_text_that_names_no_account_is_no_entry(line: str) -> None:
    found = read_list(line)
    assert (found.entries, found.invalid) == ((), ()), found


@pytest.mark.parametrize(("line", "reason"), [
    ("x.com/search?q=gazeteci", "a link to X's 'search' page, not to an account"),
    ("https://x.com/i/web/status/1", "a link to a post that does not name its account: give the handle"),
    ("twitter.com/hashtag/basin", "a link to X's 'hashtag' page, not to an account"),
    ("@foo.bsky.social", NOT_HANDLE),
    ("@foo-bar", NOT_HANDLE),
    ("x.com/abcdefghijklmnop", TOO_LONG.format(n=16)),
    ("abcdefghijklmnop", TOO_LONG.format(n=16)),
    ("#hashtag", NOT_HANDLE),
])
def test_what_looks_like_an_entry_and_is_not_a_handle_is_named_with_its_line(line: str, reason: str) -> None:
    found = read_list(f"first line\n{line}\n")
    assert found.entries == ()
    assert [(i.line, i.reason) for i in found.invalid] == [(2, reason)]


def test_tags_given_are_added_to_every_handle_of_a_text_list() -> None:
    found = read_list("alice\n@bob\n", tags=["court", "tr"])
    assert [(e.handle, e.tags) for e in found.entries] == [("alice", ("court", "tr")), ("bob", ("court", "tr"))]


def test_a_csv_with_a_handle_column_reads_tags_of_each_form_and_notes_and_names_bad_rows() -> None:
    text = (
        "\ufeffName,Handle,Tags,Note\n"
        "Mahir,@MahirZeynalov,\"journalist, tr\",page 3\n"
        "Ahmet,https://x.com/GazeteciAhmet/status/1,journalist #editor,\n"
        "Empty,,journalist,\n"
        "\n"
        "Bad tag,someone,Gazeteci!,\n"
        "Spanning,multi_line,tr,\"line one\nline two\"\n"
        "Too long,abcdefghijklmnopq,,\n"
        "Again,mahirzeynalov,extra,\n"
    )
    found = read_list(text, tags=["court"])
    assert found.format == "csv"
    assert [(e.line, e.handle, e.tags, e.note) for e in found.entries] == [
        (2, "MahirZeynalov", ("court", "extra", "journalist", "tr"), "page 3"),
        (3, "GazeteciAhmet", ("court", "editor", "journalist"), ""),
        (7, "multi_line", ("court", "tr"), "line one line two"),
    ]
    assert found.repeats == (Repeat("MahirZeynalov", (2, 10)),)
    assert [(i.line, i.reason) for i in found.invalid] == [
        (4, "no handle in the handle column"),
        (6, "'Gazeteci!' in the tags column is not a tag: 1 to 32 of a-z, 0-9, '_' or '-'"),
        (9, TOO_LONG.format(n=17)),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_spreadsheet_export_with_semicolons_or_tabs_is_csv(delimiter: str) -> None:
    text = delimiter.join(["handle", "tags"]) + "\n" + delimiter.join(["@alice", "a b"]) + "\n"
    found = read_list(text)
    assert found.format == "csv"
    assert [(e.handle, e.tags) for e in found.entries] == [("alice", ("a", "b"))]


def test_a_text_that_mentions_handle_in_its_first_line_is_not_csv() -> None:
    found = read_list("Please handle these accounts: @alice\n@bob\n")
    assert found.format == "text"
    assert [e.handle for e in found.entries] == ["alice", "bob"]


def test_windows_and_old_mac_line_ends_keep_line_numbers() -> None:
    found = read_list("junk line here\r\n@alice\r\n\r\n@bob\rx.com/abcdefghijklmnopq\r\n")
    assert handles(found) == [(2, "alice"), (4, "bob")]
    assert [i.line for i in found.invalid] == [5]


def test_parse_tags_takes_spaces_commas_hashes_and_tag_prefixes() -> None:
    assert parse_tags(" Journalist, #TR  tag:editor,,") == (["journalist", "tr", "editor"], [])
    assert parse_tags("ok bad! x" * 1) == (["ok", "x"], ["bad!"])
