"""Sign-in: passwords (argon2), session cookie with CSRF, rate limit, sign-in links, API tokens, CLI."""

from __future__ import annotations

import re
import uuid

import pytest
from click.testing import CliRunner
from conftest import SAMPLE_CITY, execute

from geo_app import create_app
from geo_app.auth import users
from geo_app.cli import main


@pytest.fixture(scope="module")
def app(settings):
    application = create_app(settings)
    yield application
    application.extensions["db_pool"].close()


@pytest.fixture
def person(database_url, sample_city):
    """A fresh supervisor of the sample city with a password (unique name: the sign-in rate limit counts
    per name)."""
    username = f"sup-{uuid.uuid4().hex[:8]}"
    users.add_user(
        database_url,
        username,
        "supervisor_112",
        "kata-sandi-rahasia",
        display_name="Sup",
        city_code=sample_city,
    )
    return username


def csrf_from(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sign_in(client, username, password="kata-sandi-rahasia", next_path="/"):
    token = csrf_from(client.get("/login"))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, "next": next_path}
    )


def test_login_page_reads_in_bahasa_indonesia(anonymous_client):
    page = anonymous_client.get("/login").get_data(as_text=True)
    assert "Nama pengguna" in page and "Kata sandi" in page and ">Masuk<" in page


def test_passwords_are_stored_as_argon2(database_url, person):
    [(stored,)] = execute(database_url, "SELECT password_hash FROM users WHERE username = %s", (person,))
    assert stored.startswith("$argon2id$") and "kata-sandi-rahasia" not in stored


def test_sign_in_opens_a_session_with_the_role_and_sign_out_ends_it(anonymous_client, person):
    response = sign_in(anonymous_client, person, next_path="/api/incidents/counts")
    assert response.status_code == 303 and response.headers["Location"] == "/api/incidents/counts"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    me = anonymous_client.get("/api/me").json
    assert me["username"] == person and me["role"] == "supervisor_112" and me["via"] == "session"
    assert anonymous_client.get("/api/incidents").status_code == 200
    assert anonymous_client.post("/logout", data={"csrf_token": me["csrf_token"]}).status_code == 303
    assert anonymous_client.get("/api/me").json["signed_in"] is False


def test_wrong_password_and_unknown_user_get_the_same_answer(anonymous_client, person):
    wrong = sign_in(anonymous_client, person, password="salah-sekali-ya")
    unknown = sign_in(anonymous_client, "nobody-" + person, password="salah-sekali-ya")
    assert wrong.status_code == unknown.status_code == 401
    assert "Nama pengguna atau kata sandi salah" in wrong.get_data(as_text=True)
    assert anonymous_client.get("/api/me").json["signed_in"] is False


def test_forms_without_the_csrf_token_are_refused(anonymous_client, person):
    anonymous_client.get("/login")
    response = anonymous_client.post("/login", data={"username": person, "password": "kata-sandi-rahasia"})
    assert response.status_code == 400 and "CSRF" in response.json["title"]
    sign_in(anonymous_client, person)
    assert anonymous_client.post("/logout").status_code == 400  # a cross-site form cannot sign anyone out
    assert anonymous_client.get("/api/me").json["signed_in"] is True


def test_session_writes_need_the_csrf_header_token_writes_do_not(database_url, anonymous_client, tokens):
    username = f"kominfo-{uuid.uuid4().hex[:6]}"
    users.add_user(
        database_url, username, "opd_editor", "kata-sandi-rahasia", opd="Diskominfo", city_code=SAMPLE_CITY
    )
    sign_in(anonymous_client, username)
    body = {"type": "Feature", "geometry": None, "properties": {}}
    assert anonymous_client.post("/api/assets", json=body).status_code == 400
    assert "CSRF" in anonymous_client.post("/api/assets", json=body).json["title"]
    csrf = anonymous_client.get("/api/me").json["csrf_token"]
    with_header = anonymous_client.post("/api/assets", json=body, headers={"X-CSRF-Token": csrf})
    assert "CSRF" not in with_header.json["title"]  # past the check: now the asset itself is judged


def test_sign_in_attempts_are_rate_limited(anonymous_client, person):
    statuses = [sign_in(anonymous_client, person, password="salah-sekali-ya").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    limited = sign_in(anonymous_client, person)
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert "Retry-After" in limited.headers


def test_disabling_a_user_ends_sessions_and_tokens(database_url, anonymous_client, app, person):
    secret, _ = users.issue_token(database_url, person, days=1)
    sign_in(anonymous_client, person)
    users.set_active(database_url, person, False)
    assert anonymous_client.get("/api/me").json["signed_in"] is False
    assert app.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_a_copied_session_cookie_is_worthless_after_sign_out(app, person):
    """The attack: keep a copy of the session cookie, let its owner sign out, replay the copy."""
    browser = app.test_client()
    sign_in(browser, person)
    stolen = browser.get_cookie("geo_app_session").value
    csrf = browser.get("/api/me").json["csrf_token"]
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("geo_app_session", stolen)
    assert thief.get("/api/me").json["signed_in"] is False
    assert thief.get("/api/incidents", headers={"Accept": "application/json"}).status_code == 401


def test_a_new_password_or_disabling_ends_every_session_at_once(database_url, app, person):
    first, second = app.test_client(), app.test_client()
    sign_in(first, person)
    sign_in(second, person)
    users.change_password(database_url, person, "kata-sandi-baru-sekali")
    assert first.get("/api/me").json["signed_in"] is False
    assert second.get("/api/me").json["signed_in"] is False
    assert sign_in(first, person).status_code == 401  # the old password is gone
    assert sign_in(first, person, password="kata-sandi-baru-sekali").status_code == 303
    users.set_active(database_url, person, False)
    [(live,)] = execute(
        database_url,
        "SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE u.username = %s AND t.kind = 'session' AND t.revoked_at IS NULL",
        (person,),
    )
    assert live == 0 and first.get("/api/me").json["signed_in"] is False


def test_sessions_are_stored_as_digests_that_expire(database_url, app, person):
    browser = app.test_client()
    sign_in(browser, person)
    [(digest, hours)] = execute(
        database_url,
        "SELECT t.token_hash, extract(epoch FROM t.expires_at - t.created_at) / 3600 FROM api_tokens t"
        " JOIN users u ON u.id = t.user_id WHERE u.username = %s AND t.kind = 'session'",
        (person,),
    )
    assert len(bytes(digest)) == 32 and round(hours) == 10
    execute(
        database_url,
        "UPDATE api_tokens SET created_at = now() - interval '11 hours',"
        " expires_at = now() - interval '1 hour' WHERE token_hash = %s",
        (digest,),
    )
    assert browser.get("/api/me").json["signed_in"] is False


OPEN_REDIRECTS = [
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "/%5Cevil.example",
    "/\\evil.example",
    "%2F%2Fevil.example",
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    " //evil.example",
    "/%E2%80%8B/evil.example",
]


def _stays_on_this_site(location: str) -> bool:
    return location.startswith("/") and not location.startswith("//") and location.isprintable()


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_sign_in_never_redirects_to_another_site(app, person, target):
    browser = app.test_client()
    token = csrf_from(browser.get("/login"))
    response = browser.post(
        f"/login?next={target}",
        data={"username": person, "password": "kata-sandi-rahasia", "csrf_token": token},
    )
    assert response.status_code == 303 and _stays_on_this_site(response.headers["Location"])
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_sign_in_links_never_redirect_to_another_site(database_url, app, person, target):
    link = users.login_link(database_url, person).split("?")[0] + f"?next={target}"
    response = app.test_client().get(link)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_tokens_expire_and_can_be_revoked_and_are_stored_hashed(database_url, app, person):
    secret, row = users.issue_token(database_url, person, days=1, label="skrip malam")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/me", headers=headers).json["role"] == "supervisor_112"
    stored = execute(database_url, "SELECT token_hash FROM api_tokens WHERE id = %s", (row["id"],))[0][0]
    assert secret.encode() not in bytes(stored) and len(bytes(stored)) == 32
    users.revoke_token(database_url, row["id"])
    assert client.get("/api/me", headers=headers).status_code == 401
    expired, expired_row = users.issue_token(database_url, person, days=1)
    execute(
        database_url,
        "UPDATE api_tokens SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day'"
        " WHERE id = %s",
        (expired_row["id"],),
    )
    assert client.get("/api/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_a_sign_in_link_works_once_and_only_sends_to_this_site(database_url, app, person):
    link = users.login_link(database_url, person, "/api/incidents/counts")
    client = app.test_client()
    opened = client.get(link)
    assert opened.status_code == 303 and opened.headers["Location"] == "/api/incidents/counts"
    assert client.get("/api/me").json["username"] == person
    assert app.test_client().get(link).status_code == 401
    elsewhere = users.login_link(database_url, person, "//evil.example/x")
    assert app.test_client().get(elsewhere).headers["Location"] == "/"


def test_sign_ins_are_in_the_audit_trail(client, anonymous_client, person):
    sign_in(anonymous_client, person)
    entries = client.get(f"/api/audit?actor={person}").json["entries"]
    assert entries[0]["action"] == "sign_in" and entries[0]["after"] == {"via": "password"}
    assert entries[0]["actor_role"] == "supervisor_112"  # the user's role, not the anonymous request's


def test_users_commands(database_url, sample_city, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    name = f"dlh-{uuid.uuid4().hex[:6]}"
    added = runner.invoke(
        main, ["users", "add", name, "--role", "dlh"], input="kata-sandi-dlh\nkata-sandi-dlh\n"
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["users", "list"])
    assert re.search(rf"{name}\s+dlh\s+-\s+36\.72\s+active", listed.output)  # CITY_CODE's user
    issued = runner.invoke(main, ["users", "token", name, "--days", "7", "--label", "laporan"])
    assert issued.exit_code == 0 and issued.output.startswith("gat_")
    token_id = re.search(r"token id (\d+)", issued.output).group(1)
    assert "laporan" in runner.invoke(main, ["users", "list", "--tokens"]).output
    assert runner.invoke(main, ["users", "revoke-token", token_id]).exit_code == 0
    again = runner.invoke(main, ["users", "revoke-token", token_id])
    assert again.exit_code != 0 and "no unrevoked token" in again.output
    assert runner.invoke(main, ["users", "disable", name]).exit_code == 0
    assert re.search(rf"{name}\s+dlh\s+-\s+36\.72\s+disabled", runner.invoke(main, ["users", "list"]).output)
    link = runner.invoke(main, ["users", "login-link", name, "--next", "/maps/green"])
    assert link.exit_code != 0 and "no active user" in link.output
    editor = runner.invoke(main, ["users", "add", "x-" + name, "--role", "opd_editor", "--no-password"])
    assert editor.exit_code != 0 and "--opd" in editor.output
    short = runner.invoke(main, ["users", "add", "y-" + name, "--role", "dlh"], input="pendek\npendek\n")
    assert short.exit_code != 0 and "10 characters" in short.output
    national = runner.invoke(
        main, ["users", "add", "n-" + name, "--role", "perencana", "--national", "--no-password"]
    )
    assert national.exit_code == 0 and "national, read-only" in national.output
    assert re.search(
        rf"n-{name}\s+perencana\s+-\s+nasional\s+active", runner.invoke(main, ["users", "list"]).output
    )
    unknown = runner.invoke(
        main, ["users", "add", "u-" + name, "--role", "dlh", "--city", "98.76", "--no-password"]
    )
    assert unknown.exit_code != 0 and "98.76" in unknown.output and "--national" in unknown.output
    both = runner.invoke(
        main, ["users", "add", "b-" + name, "--role", "dlh", "--city", "36.72", "--national"]
    )
    assert both.exit_code != 0 and "either --city or --national" in both.output
    moved = runner.invoke(main, ["users", "city", "n-" + name, sample_city])
    assert moved.exit_code == 0 and f"city {sample_city}" in moved.output


def test_pages_show_who_is_signed_in_and_offer_sign_out(anonymous_client, person):
    assert 'href="/login">Masuk<' in anonymous_client.get("/login").get_data(as_text=True)
    sign_in(anonymous_client, person)
    page = anonymous_client.get("/login").get_data(as_text=True)
    assert f"{person} (supervisor_112)" in page and 'action="/logout"' in page and "Keluar" in page


def test_one_address_trying_many_user_names_is_limited_too(anonymous_client):
    anonymous_client.environ_base["REMOTE_ADDR"] = "10.9.8.7"  # an address no other test signs in from
    statuses = [
        sign_in(anonymous_client, f"tebak-{uuid.uuid4().hex[:6]}", password="salah-sekali-ya").status_code
        for _ in range(51)
    ]
    assert statuses.count(401) == 50 and statuses[-1] == 429
