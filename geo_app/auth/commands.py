"""``geo-app users ...``: add, list, disable and enable users; issue and revoke API tokens and sign-in links.

Thin: parse arguments, call geo_app.auth.users, print. Secrets are printed once and never stored.
"""

from __future__ import annotations

import click

from geo_app.auth import users as user_service
from geo_app.auth.roles import USER_ROLES
from geo_app.settings import Settings, SettingsError


def _database_url() -> str:
    try:
        return Settings.from_env().database_url
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _run(action, *args, **kwargs):
    try:
        return action(_database_url(), *args, **kwargs)
    except user_service.UserError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("users")
def users() -> None:
    """Users, roles and API tokens."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(USER_ROLES), required=True)
@click.option("--opd", help="the OPD whose assets an opd_editor edits (as in layers/assets.yaml owner_opd)")
@click.option("--name", "display_name", default="", help="full name shown to administrators")
@click.option(
    "--password/--no-password",
    default=True,
    help="ask for a password (default), or none: the user then works with API tokens only",
)
@click.option("--city", "city_code", help="the city the user works for (kode wilayah); default CITY_CODE")
@click.option("--national", is_flag=True, help="an account of the national office: reads every city")
def add(
    username: str,
    role: str,
    opd: str | None,
    display_name: str,
    password: bool,
    city_code: str | None,
    national: bool,
) -> None:
    """Add a user (the password is asked twice, never passed on the command line)."""
    city_code = _city_choice(city_code, national)
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    user = _run(
        user_service.add_user,
        username.lower(),
        role,
        secret,
        opd=opd,
        display_name=display_name,
        city_code=city_code,
    )
    click.echo(
        f"added {user['username']} ({user['role']}{', ' + user['opd'] if user['opd'] else ''}, "
        f"{_city_label(user['city_code'])})"
    )


@users.command("city")
@click.argument("username")
@click.argument("city_code", required=False)
@click.option("--national", is_flag=True, help="make it an account of the national office")
def city(username: str, city_code: str | None, national: bool) -> None:
    """Move a user to another city (or make it national); its browser sessions end."""
    if not city_code and not national:
        raise click.UsageError("give the city code (e.g. 73.71) or --national")
    city_code = _city_choice(city_code, national)
    _run(user_service.set_city, username.lower(), city_code)
    click.echo(f"{username}: {_city_label(city_code)}")


def _city_choice(city_code: str | None, national: bool) -> str | None:
    """The user's city: --city, none for --national, else the deployment's default city."""
    if national and city_code:
        raise click.UsageError("give either --city or --national, not both")
    if national:
        return None
    if city_code:
        return city_code
    try:
        return Settings.from_env().city_code
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _city_label(city_code: str | None) -> str:
    return f"city {city_code}" if city_code else "national, read-only"


@users.command("list")
@click.option("--tokens", is_flag=True, help="list API tokens and sign-in links instead of users")
def list_command(tokens: bool) -> None:
    """List users (or tokens) with their state."""
    if tokens:
        for token in _run(user_service.list_tokens):
            state = "revoked" if token["revoked_at"] else f"expires {token['expires_at']:%Y-%m-%d %H:%M %Z}"
            click.echo(
                f"{token['id']:>5}  {token['username']:<24} {token['kind']:<10} {state}  {token['label']}"
            )
        return
    for user in _run(user_service.list_users):
        state = "active" if user["is_active"] else "disabled"
        click.echo(
            f"{user['username']:<24} {user['role']:<15} {user['opd'] or '-':<22} "
            f"{user['city_code'] or 'nasional':<9} {state:<8} "
            f"{user['active_tokens']} token(s)"
        )


@users.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable a user: sessions end at once, tokens stop working at their next request."""
    _run(user_service.set_active, username.lower(), False)
    click.echo(f"disabled {username}")


@users.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled user again."""
    _run(user_service.set_active, username.lower(), True)
    click.echo(f"enabled {username}")


@users.command("password")
@click.argument("username")
def password_command(username: str) -> None:
    """Set a new password (asked twice); the user's browser sessions end at once."""
    secret = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    _run(user_service.change_password, username.lower(), secret)
    click.echo(f"new password set for {username}; their browser sessions have ended")


@users.command("token")
@click.argument("username")
@click.option("--days", type=float, default=90, show_default=True, help="days until the token expires")
@click.option("--label", default="", help="what the token is for, e.g. 'nightly import'")
def token(username: str, days: float, label: str) -> None:
    """Issue an API token (printed once; send it as 'Authorization: Bearer <token>')."""
    secret, row = _run(user_service.issue_token, username.lower(), days=days, label=label)
    click.echo(secret)
    click.echo(f"token id {row['id']}, expires {row['expires_at']:%Y-%m-%d %H:%M %Z}", err=True)


@users.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    """Revoke an API token or sign-in link by its id (see 'users list --tokens')."""
    _run(user_service.revoke_token, token_id)
    click.echo(f"revoked token {token_id}")


@users.command("login-link")
@click.argument("username")
@click.option("--minutes", type=float, default=15, show_default=True, help="minutes until the link expires")
@click.option("--next", "next_path", default="/", help="page to open after signing in, e.g. /maps/incidents")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
def login_link(username: str, minutes: float, next_path: str, base_url: str) -> None:
    """A one-time sign-in link (for a wall display in the 112 room, or a browser check)."""
    click.echo(_run(user_service.login_link, username.lower(), next_path, base_url, minutes=minutes))
