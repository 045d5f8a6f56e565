"""The pseudonymisation secret: strong enough, and the same from night to night unless rotated.

Strength: the secret (CAREJOURNEY_PSEUDO_KEY) must carry at least 32 random bytes,
written as either
  - hex: at least 64 hex digits (`openssl rand -hex 32`, `python3 -c "import secrets;
    print(secrets.token_hex(32))"`), or
  - base64 / base64url: text that decodes to at least 32 bytes (`openssl rand -base64 32`,
    `secrets.token_urlsafe(32)`),
and must not look made up by hand: too few distinct characters for its length (a
repeated character or pattern) is refused. Anything else is refused (exit 2) unless
the run says --demo.

Stability: the warehouse records the key's fingerprint (an HMAC of a fixed label under
the key; the key itself is never stored) in ops.key_fingerprint. A run whose key has a
different fingerprint than the active one would silently re-key every published
person_key, so it is refused (exit 2) unless it says --rotate-key, which records the
rotation and makes the new key the active one.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

import duckdb

MIN_KEY_BYTES = 32
FINGERPRINT_LABEL = b"carejourney pseudonymisation key fingerprint v1"
# Random text of this length draws far more distinct characters than these floors
# (64 random hex digits: ~16 of 16; 43 random base64 characters: ~31 of 64); a
# hand-made or repeated secret falls below them.
MIN_DISTINCT_HEX_DIGITS = 10
MIN_DISTINCT_BASE64_CHARS = 20
HOW_TO_MAKE_ONE = ("make one with `openssl rand -hex 32` (or python3 -c \"import secrets; "
                   "print(secrets.token_hex(32))\") and keep it in the deployment's secret store")

_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


class WeakKeyError(ValueError):
    """The secret is too short or not random; the message says what is needed."""


class KeyChangedError(RuntimeError):
    """The secret differs from the one the warehouse was keyed with."""


def secret_problem(secret: str) -> str | None:
    """Why this secret is too weak, or None if it carries at least 32 random bytes."""
    text = secret.strip()
    if re.fullmatch(r"(.+?)\1+", text):
        return f"it is {len(text)} characters repeating one short pattern: it is not random"
    if _HEX.fullmatch(text):
        if len(text) < 2 * MIN_KEY_BYTES:
            return f"it is {len(text)} hex digits; at least {2 * MIN_KEY_BYTES} (32 random bytes) are needed"
        if len(set(text.lower())) < MIN_DISTINCT_HEX_DIGITS:
            return "it uses only a few hex digits: it is not random"
        return None
    decoded = _decode_base64(text) if _BASE64.fullmatch(text) else None
    if decoded is None:
        return (f"it is {len(text)} characters that are neither hex nor base64; a secret must be "
                "at least 32 random bytes written in hex or base64")
    if len(decoded) < MIN_KEY_BYTES:
        return f"it decodes to {len(decoded)} bytes; at least {MIN_KEY_BYTES} random bytes are needed"
    if len(set(text.rstrip("="))) < MIN_DISTINCT_BASE64_CHARS:
        return "it uses only a few distinct characters: it is not random"
    return None


def _decode_base64(text: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional; None if it is neither."""
    standard = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def require_strong(secret: str, demo: bool) -> None:
    """Raise WeakKeyError for a weak secret, unless this is a demo run."""
    problem = secret_problem(secret)
    if problem and not demo:
        raise WeakKeyError(f"CAREJOURNEY_PSEUDO_KEY is too weak: {problem}. A weak secret lets anyone "
                           f"who knows one person's id recover every person_key; {HOW_TO_MAKE_ONE}.")


def fingerprint(secret: str) -> str:
    """An HMAC of a fixed label under the secret: identifies the key, reveals nothing of it."""
    return hmac.new(secret.encode("utf-8"), FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class KeyCheck:
    fingerprint: str
    first_use: bool      # the warehouse had no key recorded yet
    rotated_from: str | None


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute("""create table if not exists ops.key_fingerprint (
                       fingerprint varchar, first_seen timestamp, last_seen timestamp, active boolean)""")
    con.execute("""create table if not exists ops.key_rotation (
                       rotated_at timestamp, from_fingerprint varchar, to_fingerprint varchar)""")


def active_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the key the warehouse is keyed with now (None before the first run)."""
    exists = con.execute("select count(*) from information_schema.tables where table_schema = 'ops' "
                         "and table_name = 'key_fingerprint'").fetchone()[0]
    if not exists:
        return None
    row = con.execute("select fingerprint from ops.key_fingerprint where active").fetchone()
    return row[0] if row else None


def refuse_changed_key(con: duckdb.DuckDBPyConnection, secret: str) -> None:
    """KeyChangedError if the warehouse is keyed with another key (records nothing): the
    publish step's own guard, for runs that did not start through `carejourney run`."""
    active = active_fingerprint(con)
    if active is not None and active != fingerprint(secret):
        raise KeyChangedError(
            f"CAREJOURNEY_PSEUDO_KEY is not the key this warehouse was keyed with (the warehouse's "
            f"fingerprint is {active[:12]}...): publishing would change every person_key. Set the "
            "deployment's usual secret, or re-key on purpose with `carejourney run --rotate-key`.")


def check_and_record(con: duckdb.DuckDBPyConnection, secret: str, rotate: bool) -> KeyCheck:
    """Compare the key with the warehouse's; record it (first use, same key, or a rotation).

    Raises KeyChangedError, recording nothing, when the key changed without rotate.
    """
    current = fingerprint(secret)
    active = active_fingerprint(con)
    if active is not None and active != current and not rotate:
        raise KeyChangedError(
            f"CAREJOURNEY_PSEUDO_KEY is not the key this warehouse was keyed with (fingerprint "
            f"{current[:12]}..., the warehouse's is {active[:12]}...): publishing would silently change "
            "every person_key. Set the deployment's usual secret, or, to re-key on purpose, run again "
            "with --rotate-key (every published person_key changes; tell the analysts).")
    rotated_from = active if active is not None and active != current else None
    _ensure_tables(con)
    con.execute("begin transaction")
    try:
        if rotated_from:
            con.execute("update ops.key_fingerprint set active = false where active")
            con.execute("insert into ops.key_rotation values (now()::timestamp, ?, ?)", [rotated_from, current])
        known = con.execute("select count(*) from ops.key_fingerprint where fingerprint = ?", [current]).fetchone()[0]
        if known:
            con.execute("update ops.key_fingerprint set last_seen = now()::timestamp, active = true "
                        "where fingerprint = ?", [current])
        else:
            con.execute("insert into ops.key_fingerprint values (?, now()::timestamp, now()::timestamp, true)",
                        [current])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return KeyCheck(current, active is None, rotated_from)
