"""Short links for views whose state does not fit in a link: a pasted paragraph makes the address too long
for a QR code (a QR code holds at most 2,953 bytes) and for some servers. The view's query parameters are
stored in the app's database (`database`: SQLite in the cache directory, or the cluster's PostgreSQL; the
class sessions use it too) under a short unguessable id; the link carries only `?view=<id>`, and opening it
restores the parameters. Stored views expire after `LIFETIME_DAYS` days without use. No Streamlit here."""

from __future__ import annotations

import hashlib
import json
import secrets
import time

import database

VIEW = "view"  # the query parameter that carries the id
LIFETIME_DAYS = 30


def save(query: dict[str, list[str]]) -> str:
    """The id of a stored view with these query parameters. The same parameters keep their id (a page
    that reruns does not fill the table), and each save pushes their expiry back."""
    encoded = json.dumps(query, sort_keys=True)  # ASCII: a lone surrogate from a hand-made link is escaped
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    now = time.time()
    expires = now + LIFETIME_DAYS * 86_400
    with database.transaction() as db:
        db.execute("DELETE FROM views WHERE expires < ?", (now,))
        found = db.value("SELECT id FROM views WHERE digest = ?", (digest,))
        if found is not None:
            db.execute("UPDATE views SET expires = ? WHERE id = ?", (expires, found))
            return found
        view_id = secrets.token_urlsafe(12)  # 96 random bits: not guessable, 16 characters in the link
        db.execute("INSERT INTO views VALUES (?, ?, ?, ?)", (view_id, digest, encoded, expires))
        return view_id


def load(view_id: str) -> dict[str, list[str]] | None:
    """The stored query parameters, or None for an unknown or expired id."""
    with database.transaction() as db:
        query = db.value("SELECT query FROM views WHERE id = ? AND expires >= ?", (view_id, time.time()))
    return None if query is None else json.loads(query)
