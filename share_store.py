"""Short links for views whose state does not fit in a link: a pasted paragraph makes the address too long
for a QR code (a QR code holds at most 2,953 bytes) and for some servers. The view's query parameters are
stored here, in SQLite in the app's cache directory, under a short unguessable id; the link carries only
`?view=<id>`, and opening it restores the parameters. Stored views expire after `LIFETIME_DAYS` days
without use. No Streamlit here."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from models.core.paths import cache_dir

VIEW = "view"  # the query parameter that carries the id
LIFETIME_DAYS = 30
DATABASE = "shared_views.sqlite3"


def _database() -> Path:
    return cache_dir() / DATABASE


def _connect() -> sqlite3.Connection:
    connection = sqlite3.connect(_database(), timeout=10)
    connection.execute(
        "CREATE TABLE IF NOT EXISTS views "
        "(id TEXT PRIMARY KEY, digest TEXT UNIQUE NOT NULL, query TEXT NOT NULL, expires REAL NOT NULL)"
    )
    return connection


def save(query: dict[str, list[str]]) -> str:
    """The id of a stored view with these query parameters. The same parameters keep their id (a page
    that reruns does not fill the table), and each save pushes their expiry back."""
    encoded = json.dumps(query, sort_keys=True)  # ASCII: a lone surrogate from a hand-made link is escaped
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    now = time.time()
    expires = now + LIFETIME_DAYS * 86_400
    with closing(_connect()) as connection, connection:
        connection.execute("DELETE FROM views WHERE expires < ?", (now,))
        row = connection.execute("SELECT id FROM views WHERE digest = ?", (digest,)).fetchone()
        if row is not None:
            connection.execute("UPDATE views SET expires = ? WHERE id = ?", (expires, row[0]))
            return row[0]
        view_id = secrets.token_urlsafe(12)  # 96 random bits: not guessable, 16 characters in the link
        connection.execute("INSERT INTO views VALUES (?, ?, ?, ?)", (view_id, digest, encoded, expires))
        return view_id


def load(view_id: str) -> dict[str, list[str]] | None:
    """The stored query parameters, or None for an unknown or expired id."""
    with closing(_connect()) as connection:
        row = connection.execute(
            "SELECT query FROM views WHERE id = ? AND expires >= ?", (view_id, time.time())
        ).fetchone()
    return None if row is None else json.loads(row[0])
