"""`presswatch import`, `accounts` and `remove` as real processes on a real database (no daemon here: see
test_e2e_import.py for a running one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from e2e import env, presswatch, write_config

COURT_ORDER = Path(__file__).parent / "data" / "court_order.txt"
ORDER = "Court order 2016/1234"
IMPORTED = ["MahirZeynalov", "ErisimEngeli", "basin_ozgur", "GazeteciAhmet", "eski_hesap", "haber_ajansi",
            "KisanEktaMorcha", "Tractor2twitr", "kisan_vani"]  # sansur_izleme is the config's


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, x_url="http://127.0.0.1:9", watchlist=[{"handle": "sansur_izleme", "tags": ["tr"]}])


def run_json(*args: str, config: Path, code: int = 0) -> list[dict[str, Any]]:
    result = presswatch(*args, "--json", config=config)
    assert result.returncode == code, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def by_status(rows: list[dict[str, Any]]) -> dict[str, list[tuple[int, str]]]:
    grouped: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        grouped.setdefault(row["status"], []).append((row["line"], row["handle"] or row["text"]))
    return grouped


def test_without_apply_it_lists_what_it_would_do_and_writes_nothing(config: Path) -> None:
    result = presswatch("import", str(COURT_ORDER), "--source", ORDER, "--tags", "tr,court", config=config)
    assert result.returncode == 1, result.stderr  # some entries are invalid: named, the rest importable
    lines = result.stdout.splitlines()
    assert lines[0] == (f"{COURT_ORDER}: 10 accounts (9 new, 1 watched already), 3 named more than once,"
                        " 7 invalid entries")
    assert "  line 8: @MahirZeynalov (tags: court, tr)" in lines
    assert "  line 12: @sansur_izleme, from config" in lines
    assert "  @MahirZeynalov: lines 8, 14" in lines
    assert "  line 16: '@ahmetşık': not an X handle: 1 to 15 letters a-z, digits or underscores" in lines
    assert lines[-1] == f'Nothing was written: add --apply to watch the 9 new accounts, listed in "{ORDER}".'
    assert not (config.parent / "presswatch.db").exists()


def test_json_names_every_entry_once_in_the_order_of_the_file(config: Path) -> None:
    rows = run_json("import", str(COURT_ORDER), "--source", ORDER, config=config, code=1)
    grouped = by_status(rows)
    assert [handle for _, handle in grouped["new"]] == IMPORTED
    assert grouped["watched"] == [(12, "sansur_izleme")]
    assert grouped["repeated"] == [(14, "MahirZeynalov"), (18, "basin_ozgur"), (27, "Tractor2twitr")]
    assert [line for line, _ in grouped["invalid"]] == [1, 15, 16, 16, 17, 21, 28]
    assert [row["line"] for row in rows] == sorted(row["line"] for row in rows)
    assert all(row["reference"] == ORDER for row in rows if row["status"] == "new")


def test_apply_twice_adds_the_accounts_once_with_their_reference_and_tags(config: Path) -> None:
    first = run_json("import", str(COURT_ORDER), "--source", ORDER, "--tags", "tr", "--apply", config=config, code=1)
    assert [row["handle"] for row in first if row["status"] == "added"] == IMPORTED
    again = run_json("import", str(COURT_ORDER), "--source", ORDER, "--apply", config=config, code=1)
    assert [row for row in again if row["status"] in ("added", "new")] == []
    assert {row["handle"]: row["source"] for row in again if row["status"] == "watched"} == {
        **dict.fromkeys(IMPORTED, "import"), "sansur_izleme": "config"}
    accounts = run_json("accounts", config=config)
    assert [row["handle"] for row in accounts] == sorted([*IMPORTED, "sansur_izleme"], key=str.casefold)
    mahir = next(row for row in accounts if row["handle"] == "MahirZeynalov")
    assert (mahir["source"], mahir["reference"], mahir["tags"], mahir["availability"]) == ("import", ORDER, ["tr"],
                                                                                           None)
    assert [r["handle"] for r in run_json("accounts", "--source", "court ORDER  2016/1234", config=config)] == sorted(
        IMPORTED, key=str.casefold)
    assert [r["handle"] for r in run_json("accounts", "--source", "config", config=config)] == ["sansur_izleme"]
    assert [r["handle"] for r in run_json("accounts", "--tag", "TR", config=config)] == sorted(
        [*IMPORTED, "sansur_izleme"], key=str.casefold)
    table = presswatch("accounts", config=config)
    assert table.returncode == 0 and f"import: {ORDER}" in table.stdout and "not polled yet" in table.stdout


def test_a_csv_from_standard_input_keeps_its_tags_and_notes(config: Path) -> None:
    csv = "handle;tags;note\n@alice;journalist tr;page 3\nhttps://x.com/bob/status/1;;\n"
    result = subprocess.run([sys.executable, "-m", "bot.cli", "import", "-", "--apply", "--json", "-c", str(config)],
                            input=csv, capture_output=True, text=True, env=env(), timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert [(r["handle"], r["status"], r["reference"]) for r in json.loads(result.stdout)] == [
        ("alice", "added", None), ("bob", "added", None)]
    alice = next(r for r in run_json("accounts", config=config) if r["handle"] == "alice")
    assert (alice["tags"], alice["note"], alice["reference"]) == (["journalist", "tr"], "page 3", None)


def test_without_source_the_reference_is_the_files_name(config: Path, tmp_path: Path) -> None:
    listing = tmp_path / "order-2021-IN.txt"
    listing.write_text("@farmer_one\n", encoding="utf-8")
    assert presswatch("import", str(listing), "--apply", config=config).returncode == 0
    assert [r["reference"] for r in run_json("accounts", "--source", "import", config=config)] == ["order-2021-IN.txt"]


@pytest.mark.parametrize(("content", "args", "message"), [
    (b"%PDF-1.7\n...", (), "is a PDF: turn it into text first (pdftotext FILE list.txt), then import that"),
    (b"PK\x03\x04rest", (), "is a zipped document (.xlsx, .ods or .docx): save it as CSV or plain text, then"
                            " import that"),
    (b"@alice\n\xfe\xfd", (), "is not UTF-8 text (byte 0xFE on line 2): save it as UTF-8, then import it again"),
    (b"@alice\n", ("--tags", "ok,Not ok!"), None),
    (b"@alice\n", ("--source", " "), None),
])
def test_an_unusable_list_or_option_is_one_line_and_exit_2(config: Path, tmp_path: Path, content: bytes,
                                                           args: tuple[str, ...], message: str | None) -> None:
    listing = tmp_path / "list.bin"
    listing.write_bytes(content)
    result = presswatch("import", str(listing), "--apply", *args, config=config)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    if message:
        assert result.stderr.strip() == f"{listing}: {message}"
    assert not (config.parent / "presswatch.db").exists()


def test_a_missing_list_is_named(config: Path, tmp_path: Path) -> None:
    result = presswatch("import", str(tmp_path / "nope.txt"), config=config)
    assert (result.returncode, result.stderr.strip()) == (2, f"{tmp_path / 'nope.txt'}: no such file")


def test_remove_takes_imported_accounts_off_and_refuses_the_configs_own(config: Path) -> None:
    run_json("import", str(COURT_ORDER), "--source", ORDER, "--apply", config=config, code=1)
    refused = presswatch("remove", "basin_ozgur", "@sansur_izleme", config=config)
    assert refused.returncode == 2
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "sansur_izleme" in text)
    assert refused.stderr.splitlines() == [
        f"@sansur_izleme is in the config ({config}, line {line}): remove it from the watchlist there",
        "Nothing was removed."]
    assert "basin_ozgur" in {r["handle"] for r in run_json("accounts", config=config)}
    removed = presswatch("remove", "https://x.com/basin_ozgur", "nobody_here", config=config)
    assert removed.returncode == 1
    assert removed.stderr.strip() == "@nobody_here is not watched"
    assert removed.stdout.startswith("No longer watched (1): @basin_ozgur. Their history is kept")
    undo = presswatch("remove", "--source", "court order 2016/1234", config=config)
    assert undo.returncode == 0, undo.stderr
    assert [r["handle"] for r in run_json("accounts", config=config)] == ["sansur_izleme"]
    typo = presswatch("remove", "--source", "Court order 2016/12345", config=config)
    assert (typo.returncode, typo.stderr.strip()) == (
        1, 'no watched account was imported with the reference "Court order 2016/12345"')


def test_remove_takes_handles_or_a_source_not_both(config: Path) -> None:
    for args in (("remove",), ("remove", "alice", "--source", ORDER)):
        result = presswatch(*args, config=config)
        assert result.returncode == 2
        assert result.stderr.splitlines()[-1] == 'usage: presswatch remove HANDLE... | --source "REFERENCE"'
    bad = presswatch("remove", "x.com/home", config=config)
    assert bad.returncode == 2 and "is a link to X's 'home' page" in bad.stderr
