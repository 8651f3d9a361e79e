"""The X API sandbox speaks the wire format of X_API.md, over real HTTP."""

from __future__ import annotations

import json
import re
import selectors
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.sandbox.x_api import XSandbox

TOKEN = "sandbox-token"
NOW = 1_700_000_000.0
FIELDS = "withheld,protected,created_at,description,verified,public_metrics"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sb() -> Iterator[XSandbox]:
    with XSandbox(TOKEN, clock=lambda: NOW) as sandbox:
        yield sandbox


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def get(http: requests.Session, sb: XSandbox, path: str, token: str | None = TOKEN, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.get(sb.base_url + path, params=params, headers=headers, timeout=5)


def test_batch_by_ids_returns_found_users_in_order_and_one_error_per_missing(
    sb: XSandbox, http: requests.Session
) -> None:
    a, b = sb.add_account("alice"), sb.add_account("bob")
    s, d = sb.add_account("sus"), sb.add_account("gone")
    sb.suspend(s)
    sb.deactivate("gone")
    r = get(http, sb, "/2/users", ids=f"{b},{s},{a},{d},999")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert [u["id"] for u in body["data"]] == [b, a]
    assert body["errors"] == [
        {"value": s, "detail": f"User has been suspended: [{s}].", "title": "Forbidden", "resource_type": "user",
         "parameter": "ids", "resource_id": s, "type": "https://api.twitter.com/2/problems/resource-not-found"},
        {"value": d, "detail": f"Could not find user with ids: [{d}].", "title": "Not Found Error",
         "resource_type": "user", "parameter": "ids", "resource_id": d,
         "type": "https://api.twitter.com/2/problems/resource-not-found"},
        {"value": "999", "detail": "Could not find user with ids: [999].", "title": "Not Found Error",
         "resource_type": "user", "parameter": "ids", "resource_id": "999",
         "type": "https://api.twitter.com/2/problems/resource-not-found"},
    ]


def test_data_is_absent_when_nothing_is_found(sb: XSandbox, http: requests.Session) -> None:
    body = get(http, sb, "/2/users/by", usernames="nobody,noone").json()
    assert "data" not in body
    assert [e["parameter"] for e in body["errors"]] == ["usernames", "usernames"]


def test_user_fields_decide_the_optional_fields(sb: XSandbox, http: requests.Session) -> None:
    sb.add_account("Alice", name="Alice A", protected=True, withheld_in=["tr", "IN"], description="hi")
    bare = get(http, sb, "/2/users/by", usernames="alice").json()["data"][0]
    assert set(bare) == {"id", "name", "username"}
    full = get(http, sb, "/2/users/by", usernames="alice", **{"user.fields": FIELDS}).json()["data"][0]
    assert full["withheld"] == {"country_codes": ["TR", "IN"], "scope": "user"}
    assert full["protected"] is True and full["description"] == "hi" and full["verified"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", full["created_at"])
    assert set(full["public_metrics"]) >= {"followers_count", "following_count", "tweet_count"}


def test_withheld_is_absent_when_nothing_is_withheld(sb: XSandbox, http: requests.Session) -> None:
    sb.add_account("alice", withheld_in=["TR"])
    sb.set_withheld("alice", [])
    user = get(http, sb, "/2/users/by", usernames="alice", **{"user.fields": FIELDS}).json()["data"][0]
    assert "withheld" not in user


def test_the_encoded_comma_is_parsed(sb: XSandbox, http: requests.Session) -> None:
    a, b = sb.add_account("alice"), sb.add_account("bob")
    r = http.get(f"{sb.base_url}/2/users?ids={a}%2C{b}&user.fields=protected%2Cwithheld",
                 headers={"Authorization": f"Bearer {TOKEN}"})
    assert [u["protected"] for u in r.json()["data"]] == [False, False]
    assert sb.requests[-1].query == {"ids": f"{a},{b}", "user.fields": "protected,withheld"}


def test_usernames_match_case_insensitively_and_renames_move_the_handle(sb: XSandbox, http: requests.Session) -> None:
    ident = sb.add_account("MahirZeynalov")
    assert get(http, sb, "/2/users/by", usernames="mahirzeynalov").json()["data"][0]["id"] == ident
    sb.rename(ident, "Mahir2")
    body = get(http, sb, "/2/users/by", usernames="MahirZeynalov,MAHIR2").json()
    assert body["data"][0]["username"] == "Mahir2"
    assert body["errors"][0]["value"] == "MahirZeynalov"
    assert get(http, sb, "/2/users", ids=ident).json()["data"][0]["username"] == "Mahir2"


@pytest.mark.parametrize("path, params", [
    ("/2/users", {"ids": ",".join(["1"] * 101)}),
    ("/2/users", {"ids": "12a"}),
    ("/2/users", {"ids": ""}),
    ("/2/users", {}),
    ("/2/users/by", {"usernames": "has-dash"}),
    ("/2/users/by", {"usernames": "a" * 16}),
    ("/2/users/by", {"usernames": "ok", "user.fields": "bogus"}),
    ("/2/users/by", {"usernames": "ok", "unknown": "1"}),
    ("/2/users/abc", {}),
])
def test_invalid_requests_get_400_invalid_request(sb: XSandbox, http: requests.Session, path: str, params: Any) -> None:
    r = get(http, sb, path, **params)
    assert r.status_code == 400
    body = r.json()
    assert body["title"] == "Invalid Request"
    assert body["detail"] == "One or more parameters to your request was invalid."
    assert body["errors"]


def test_a_hundred_ids_is_the_limit(sb: XSandbox, http: requests.Session) -> None:
    ids = sb.seed(100)
    assert [u["id"] for u in get(http, sb, "/2/users", ids=",".join(ids)).json()["data"]] == ids


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_wrong_or_missing_token_gets_401(sb: XSandbox, http: requests.Session, token: str | None) -> None:
    r = get(http, sb, "/2/users", token=token, ids="1")
    assert r.status_code == 401
    assert r.json() == {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


@pytest.mark.parametrize("status", [200, 404])
def test_single_lookups_answer_data_or_errors_alone(sb: XSandbox, http: requests.Session, status: int) -> None:
    sb.single_missing_status = status
    ident = sb.add_account("alice")
    sb.suspend(sb.add_account("sus"))
    assert get(http, sb, f"/2/users/{ident}").json() == {"data": {"id": ident, "name": "alice", "username": "alice"}}
    assert get(http, sb, "/2/users/by/username/ALICE").json()["data"]["id"] == ident
    r = get(http, sb, "/2/users/by/username/sus")
    assert r.status_code == status
    assert list(r.json()) == ["errors"]
    assert r.json()["errors"][0]["parameter"] == "username"
    assert get(http, sb, "/2/users/123").json()["errors"][0]["detail"] == "Could not find user with id: [123]."


def test_rate_limit_headers_count_down_then_429_until_the_window_resets(http: requests.Session) -> None:
    now = [NOW]
    with XSandbox(TOKEN, rate_limit=2, window=60, clock=lambda: now[0]) as sb:
        first = get(http, sb, "/2/users", ids="1").headers
        assert (first["x-rate-limit-limit"], first["x-rate-limit-remaining"]) == ("2", "1")
        assert first["x-rate-limit-reset"] == str(int(NOW) + 60)
        assert get(http, sb, "/2/users", ids="1").headers["x-rate-limit-remaining"] == "0"
        r = get(http, sb, "/2/users", ids="1")
        assert r.status_code == 429
        assert r.json() == {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                            "status": 429}
        assert r.headers["x-rate-limit-reset"] == str(int(NOW) + 60)
        now[0] += 60
        assert get(http, sb, "/2/users", ids="1").headers["x-rate-limit-remaining"] == "1"


@pytest.mark.parametrize("kind, status, ctype, title", [
    ("500", 500, "application/problem+json", "Internal Server Error"),
    ("502", 502, "application/problem+json", "Bad Gateway"),
    ("503", 503, "application/problem+json", "Service Unavailable"),
    ("html502", 502, "text/html", None),
    ("400", 400, "application/problem+json", "Invalid Request"),
    ("401", 401, "application/problem+json", "Unauthorized"),
    ("402", 402, "application/problem+json", "CreditsDepleted"),
    ("403", 403, "application/problem+json", "Client Forbidden"),
    ("429", 429, "application/problem+json", "Too Many Requests"),
    ("usage_cap", 429, "application/problem+json", "UsageCapExceeded"),
])
def test_queued_faults_answer_once(sb: XSandbox, http: requests.Session, kind: str, status: int, ctype: str,
                                   title: str | None) -> None:
    sb.fail_next(kind)
    r = get(http, sb, "/2/users", ids="1")
    assert (r.status_code, r.headers["Content-Type"].split(";")[0]) == (status, ctype)
    assert "x-rate-limit-reset" in r.headers
    if title is None:
        assert r.text.startswith("<html>")
    else:
        assert r.json()["title"] == title
    if status == 429:
        assert r.headers["x-rate-limit-reset"] == str(int(NOW + sb.reset_in))
    assert get(http, sb, "/2/users", ids="1").status_code == 200


def test_malformed_is_a_200_with_truncated_json(sb: XSandbox, http: requests.Session) -> None:
    sb.fail_next("malformed")
    r = get(http, sb, "/2/users", ids="1")
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.content)


def test_drop_closes_the_connection_without_an_answer(sb: XSandbox, http: requests.Session) -> None:
    sb.fail_next("drop", count=2)
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            get(http, sb, "/2/users", ids="1")
    assert [r.status for r in sb.requests] == [0, 0]
    assert get(http, sb, "/2/users", ids="1").status_code == 200


def test_timeout_holds_the_answer(sb: XSandbox, http: requests.Session) -> None:
    sb.fail_next("timeout")
    with pytest.raises(requests.Timeout):
        http.get(sb.base_url + "/2/users?ids=1", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=0.2)


def test_down_refuses_connections_then_comes_back_on_the_same_port(sb: XSandbox, http: requests.Session) -> None:
    port = sb.port
    assert get(http, sb, "/2/users", ids="1").status_code == 200  # leaves a keep-alive connection open
    sb.set_down(True)
    with pytest.raises(requests.ConnectionError):
        get(http, sb, "/2/users", ids="1")
    sb.set_down(False)
    assert sb.port == port
    assert get(http, sb, "/2/users", ids="1").status_code == 200


def test_pause_holds_requests_until_resume(sb: XSandbox, http: requests.Session) -> None:
    answered = threading.Event()

    def call() -> None:
        get(http, sb, "/2/users", ids="1")
        answered.set()

    sb.pause()
    threading.Thread(target=call, daemon=True).start()
    assert sb.wait_for_held(1, timeout=5)
    assert not answered.is_set() and sb.request_count == 0
    sb.resume()
    assert sb.wait_for_requests(1, timeout=5)
    assert answered.wait(5)


def test_wait_for_requests_times_out_without_requests(sb: XSandbox) -> None:
    assert sb.wait_for_requests(1, timeout=0.01) is False


def test_control_methods_change_accounts(sb: XSandbox) -> None:
    ident = sb.add_account("alice", id="42")
    assert ident == "42"
    sb.set_protected("alice", True)
    sb.set_name("42", "Alice")
    sb.set_description("ALICE", "bio")
    sb.set_withheld("alice", ["xx"])
    sb.suspend("alice")
    sb.unsuspend("alice")
    sb.deactivate("alice")
    sb.reactivate("alice")
    assert sb.account("42") == {
        "id": "42", "handle": "alice", "name": "Alice", "protected": True, "withheld_in": ["XX"],
        "description": "bio", "created_at": sb.account("alice")["created_at"], "suspended": False,
        "deactivated": False,
    }
    with pytest.raises(KeyError):
        sb.suspend("nobody")
    with pytest.raises(ValueError):
        sb.add_account("ALICE")
    with pytest.raises(ValueError):
        sb.fail_next("teapot")


def test_seed_creates_a_hundred_thousand_accounts(sb: XSandbox, http: requests.Session) -> None:
    ids = sb.seed(100_000)
    assert len(set(ids)) == 100_000
    assert sb.account(ids[-1])["handle"] == "acct99999"
    assert sb.seed(1) != ids[-1:] and sb.account(sb.seed(1, prefix="x")[0])["handle"] == "x0"


def test_http_control_interface(sb: XSandbox, http: requests.Session) -> None:
    def post(action: str, **payload: Any) -> requests.Response:
        return http.post(f"{sb.base_url}/_sandbox/{action}", json=payload, timeout=5)

    ident = post("add_account", handle="alice", withheld_in=["TR"]).json()["result"]
    assert post("suspend", x=ident).status_code == 200
    assert post("account", account="alice").json()["result"]["suspended"] is True
    assert post("fail_next", kind="503").status_code == 200
    assert get(http, sb, "/2/users", ids=ident).status_code == 503
    assert http.get(f"{sb.base_url}/_sandbox/stats").json()["requests"] == 1
    assert post("suspend", x="nobody").status_code == 404
    assert post("fail_next", kind="nope").status_code == 400
    assert post("stop").status_code == 404


def test_module_runs_in_the_foreground_and_prints_its_url() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "bot.sandbox.x_api", "--port", "0", "--seed", "5"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            assert sel.select(timeout=10), "no base URL printed"
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        r = requests.get(f"{url}/2/users/by?usernames=acct4", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.json()["data"][0]["username"] == "acct4"
        assert requests.get(f"{url}/_sandbox/stats").json()["requests"] == 1
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
