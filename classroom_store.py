"""Class sessions: a presenter opens a room, students join it from their phones and send answers to the
room's current activity; every browser session and every replica sees the same room through the app's
database (`database`). No Streamlit here.

A room's code is 10 characters from an alphabet without look-alikes (about 50 bits: not guessable by
trying); the presenter's actions need the room's presenter key as well, which only the presenter's
session holds. A room expires after the lifetime chosen when it was opened, or when the presenter ends
it; either way its participants, submissions and votes are deleted and only the ended room's code is
kept, so a late phone is told the class is over. Each participant may send a burst of `BURST` actions,
then one per `1 / RATE` seconds (a token bucket kept in the participant's row, updated atomically)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import database
from models.core.errors import StudioError

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector and typed on a phone
CODE_LENGTH = 10
LIFETIMES_MINUTES = (45, 90, 180)
MAX_NAME = 30
MAX_TEXT = 300
MAX_PARTICIPANTS = 200
MAX_SUBMISSIONS = 200  # per participant and room: a phone cannot fill the database
BURST = 5
RATE = 1.0  # actions per second once the burst is spent
ACTIVITIES = ("next-word", "fool-the-models", "translation-vote", "new-classes")
TITLES = dict(
    zip(
        ACTIVITIES, ("Next word", "Fool the models", "Which translation is better", "Teach it new classes"), strict=True
    )
)
MIN_CLASSES, MAX_CLASSES = 2, 4
MAX_PHOTO_BYTES = 300_000  # a photo as stored: the page re-encodes it small (JPEG, at most 448 pixels a side)
SENTIMENTS = ("positive", "negative")  # what a student means a sentence to be, in the models' label names
TRANSLATIONS = ("neural", "apertium")  # what the class votes between
SWEEP_SECONDS = 10.0  # how often a process looks for rooms past their time
STORED = "your display name (or a number if you stay anonymous) and what you send: words, sentences, labels and votes"


class ClassroomError(StudioError):
    """Why a class action was refused, written for the student or presenter who tried it."""


@dataclass(frozen=True)
class Room:
    code: str
    created: float
    expires: float
    locked: bool
    activity: str
    setup: dict[str, Any]


@dataclass(frozen=True)
class Participant:
    id: int
    name: str
    token: str  # held by the phone's session: who sends what


@dataclass(frozen=True)
class Submission:
    id: int
    participant: int
    name: str
    activity: str
    round: str
    text: str
    label: str
    created: float
    hidden: bool
    result: dict[str, Any] = field(default_factory=dict)  # what the models said, once they have


def normalise_code(text: str) -> str:
    """A room code as typed or scanned: case, blanks and dashes do not matter."""
    return "".join(ch for ch in text.upper() if ch not in " -\t")


def shown_code(code: str) -> str:
    """The code in two halves, easier to read aloud."""
    return f"{code[:5]}-{code[5:]}"


def open_room(minutes: int = LIFETIMES_MINUTES[1]) -> tuple[Room, str]:
    """A new room and its presenter key."""
    if minutes not in LIFETIMES_MINUTES:
        raise ClassroomError(f"A class lasts {', '.join(map(str, LIFETIMES_MINUTES))} minutes.")
    now = time.time()
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    key = secrets.token_urlsafe(24)
    with _transaction() as db:
        db.execute(
            "INSERT INTO rooms (code, presenter_key, created, expires, activity, setup) VALUES (?, ?, ?, ?, ?, ?)",
            (code, key, now, now + minutes * 60, ACTIVITIES[0], "{}"),
        )
    return Room(code, now, now + minutes * 60, False, ACTIVITIES[0], {}), key


_last_sweep = 0.0


def sweep_expired() -> int:
    """Delete what the rooms past their time hold, as if their presenters had ended them; how many rooms."""
    global _last_sweep
    _last_sweep = time.time()
    with database.transaction() as db:
        expired = db.rows("SELECT code FROM rooms WHERE ended = 0 AND expires < ?", (_last_sweep,))
        for (code,) in expired:
            _delete_contents(db, code)
    return len(expired)


@contextmanager
def _transaction(write: bool = True) -> Iterator[database.Database]:
    """`database.transaction(write)`, after a sweep of expired rooms when one is due: in a transaction of its
    own, so a refusal that follows cannot roll the deletion back. A database too busy to answer is a
    ClassroomError like any other refusal: the pages show its message."""
    try:
        if time.time() - _last_sweep > SWEEP_SECONDS:
            sweep_expired()
        with database.transaction(write) as db:
            yield db
    except database.DatabaseBusy as exc:
        raise ClassroomError(str(exc)) from exc


def _delete_contents(db: database.Database, code: str) -> None:
    db.execute("DELETE FROM votes WHERE submission IN (SELECT id FROM submissions WHERE room = ?)", (code,))
    db.execute("DELETE FROM submissions WHERE room = ?", (code,))
    db.execute("DELETE FROM participants WHERE room = ?", (code,))
    db.execute("UPDATE rooms SET ended = 1, setup = ? WHERE code = ?", ("{}", code))


def _room(db: database.Database, code: str, presenter_key: str | None = None) -> Room:
    """The open room `code` (and the presenter's key, when given, must be its own)."""
    code = normalise_code(code)
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise ClassroomError(f"A room code is {CODE_LENGTH} letters and digits, like {shown_code('K7XPQ3MDW9')}.")
    found = db.row("SELECT code, created, expires, locked, activity, setup, ended, presenter_key FROM rooms "
                   "WHERE code = ?", (code,))  # fmt: skip
    if found is None:
        raise ClassroomError(f"There is no class {shown_code(code)}. Check the code on the presenter's screen.")
    if found[6] or found[2] < time.time():  # ended, or past its time (its contents go at the next sweep)
        raise ClassroomError(f"Class {shown_code(code)} has ended; what was sent to it has been deleted.")
    if presenter_key is not None and not secrets.compare_digest(found[7], presenter_key):
        raise ClassroomError("Only the presenter who opened this class can change it.")
    return Room(found[0], found[1], found[2], bool(found[3]), found[4], json.loads(found[5]))


def room(code: str) -> Room:
    """The open room `code`; a clear error for a malformed, unknown, expired or ended one."""
    with _transaction(write=False) as db:
        return _room(db, code)


def set_activity(code: str, presenter_key: str, activity: str, setup: dict[str, Any] | None = None) -> None:
    """What the phones show now, and its settings (the next-word prompt)."""
    if activity not in ACTIVITIES:
        raise ClassroomError(f"Unknown activity {activity!r}.")
    with _transaction() as db:
        _room(db, code, presenter_key)
        db.execute("UPDATE rooms SET activity = ?, setup = ? WHERE code = ?", (activity, json.dumps(setup or {}), code))


def lock(code: str, presenter_key: str, locked: bool = True) -> None:
    """A locked room takes no new participants and no new answers."""
    with _transaction() as db:
        _room(db, code, presenter_key)
        db.execute("UPDATE rooms SET locked = ? WHERE code = ?", (int(locked), code))


def end(code: str, presenter_key: str) -> None:
    """End the class now: its participants, submissions and votes are deleted."""
    with _transaction() as db:
        _room(db, code, presenter_key)
        _delete_contents(db, code)


def clean_name(name: str) -> str:
    """A display name as stored: blanks collapsed, control characters out, at most MAX_NAME characters."""
    printable = "".join(ch if ch.isprintable() else " " for ch in name)
    cleaned = " ".join(printable.split())
    if len(cleaned) > MAX_NAME:
        raise ClassroomError(f"A display name has at most {MAX_NAME} characters.")
    return cleaned


def join(code: str, name: str = "", token: str | None = None) -> tuple[Participant, bool]:
    """Join room `code` as `name` (empty: anonymous, given a number). A phone that has joined already (its
    session's `token`) gets its place back, and False says it was not new."""
    wanted = clean_name(name)
    with _transaction() as db:
        found = _room(db, code)
        if token is not None:
            seat = db.row("SELECT id, name FROM participants WHERE room = ? AND token = ?", (found.code, token))
            if seat is not None:
                return Participant(seat[0], seat[1], token), False
        if found.locked:
            raise ClassroomError("The presenter has locked this class: no one new can join.")
        count = db.value("SELECT COUNT(*) FROM participants WHERE room = ?", (found.code,))
        if count >= MAX_PARTICIPANTS:
            raise ClassroomError(f"This class is full ({MAX_PARTICIPANTS} people).")
        if not wanted:
            wanted = f"Anonymous {count + 1}"
        if db.value("SELECT id FROM participants WHERE room = ? AND LOWER(name) = LOWER(?)", (found.code, wanted)):
            raise ClassroomError(f"Someone in this class is already called “{wanted}”. Pick another name.")
        token = secrets.token_urlsafe(24)
        now = time.time()
        participant_id = db.value(
            "INSERT INTO participants (room, token, name, joined, allowance, checked) VALUES (?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (found.code, token, wanted, now, BURST, now),
        )
    return Participant(participant_id, wanted, token), True


def participants(code: str) -> list[Participant]:
    """Who is in, in the order they joined (tokens left out: this is for showing)."""
    with _transaction(write=False) as db:
        found = _room(db, code)
        rows = db.rows("SELECT id, name FROM participants WHERE room = ? ORDER BY id", (found.code,))
    return [Participant(i, name, "") for i, name in rows]


def _seat(db: database.Database, room: Room, token: str) -> int:
    """The participant's id; refused when the room is locked or the participant is over its rate."""
    seat = db.value("SELECT id FROM participants WHERE room = ? AND token = ?", (room.code, token))
    if seat is None:
        raise ClassroomError("You are not in this class (it may have been restarted). Join again.")
    if room.locked:
        raise ClassroomError("The presenter has locked this class for now.")
    now = time.time()
    refill = "allowance + (? - checked) * ?"
    spent = db.value(
        f"UPDATE participants SET allowance = CASE WHEN {refill} > ? THEN ? ELSE {refill} END - 1, checked = ? "
        f"WHERE id = ? AND {refill} >= 1 RETURNING id",
        (now, RATE, BURST, BURST, now, RATE, now, seat, now, RATE),
    )
    if spent is None:
        raise ClassroomError("Slow down: that was a lot at once. Try again in a second.")
    return seat


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """A sentence or word as stored: trimmed, control characters out; refused when empty or too long."""
    cleaned = "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text).strip()
    if not cleaned:
        raise ClassroomError("There is nothing to send: type something first.")
    if len(cleaned) > limit:
        raise ClassroomError(f"That is {len(cleaned):,} characters; send at most {limit:,}.")
    return cleaned


def submit(
    code: str, token: str, activity: str, text: str, label: str = "", round: str = "", replace: bool = False
) -> Submission:
    """Send `text` (with the `label` the student meant) to the room's current `activity` and `round`. With
    `replace`, it takes the place of what this participant sent to the same round before (one guess each)."""
    text = clean_text(text)
    with _transaction() as db:
        found = _room(db, code)
        if found.activity != activity:
            raise ClassroomError("The presenter has moved on to another activity; the page has been updated.")
        seat = _seat(db, found, token)
        if replace:
            db.execute(
                "DELETE FROM submissions WHERE participant = ? AND activity = ? AND round = ?", (seat, activity, round)
            )
        elif db.value("SELECT COUNT(*) FROM submissions WHERE participant = ?", (seat,)) >= MAX_SUBMISSIONS:
            raise ClassroomError(f"You have sent {MAX_SUBMISSIONS} answers to this class, which is the most it takes.")
        now = time.time()
        submission_id = db.value(
            "INSERT INTO submissions (room, participant, activity, round, text, label, result, created) "
            "VALUES (?, ?, ?, ?, ?, ?, '{}', ?) RETURNING id",
            (found.code, seat, activity, round, text, label, now),
        )
        name = db.value("SELECT name FROM participants WHERE id = ?", (seat,))
    return Submission(submission_id, seat, name, activity, round, text, label, now, False)


def class_names(text: str) -> list[str]:
    """The presenter's new classes from "cup, pen, plant": trimmed, duplicates dropped; refused unless
    MIN_CLASSES to MAX_CLASSES names of at most MAX_NAME characters."""
    names = list(dict.fromkeys(" ".join(part.split()) for part in text.split(",") if part.strip()))
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise ClassroomError(
            f"Name {MIN_CLASSES} to {MAX_CLASSES} classes, separated by commas (there are {len(names)})."
        )
    if any(len(name) > MAX_NAME for name in names):
        raise ClassroomError(f"A class name has at most {MAX_NAME} characters.")
    return names


def submit_photo(code: str, token: str, class_name: str, photo: bytes) -> Submission:
    """A photo of one of the room's new classes (the presenter named them), as the page re-encoded it."""
    if not 0 < len(photo) <= MAX_PHOTO_BYTES:
        raise ClassroomError(
            f"A photo is stored at most {MAX_PHOTO_BYTES // 1000} kB; this one is {len(photo):,} bytes."
        )
    with _transaction() as db:
        found = _room(db, code)
        if found.activity != "new-classes":
            raise ClassroomError("The presenter has moved on to another activity; the page has been updated.")
        if class_name not in found.setup.get("classes", []):
            raise ClassroomError("That class is not one the presenter named; the page has been updated.")
        seat = _seat(db, found, token)
        if db.value("SELECT COUNT(*) FROM submissions WHERE participant = ?", (seat,)) >= MAX_SUBMISSIONS:
            raise ClassroomError(f"You have sent {MAX_SUBMISSIONS} answers to this class, which is the most it takes.")
        now = time.time()
        submission_id = db.value(
            "INSERT INTO submissions (room, participant, activity, round, text, label, result, created, photo) "
            "VALUES (?, ?, 'new-classes', '', ?, ?, '{}', ?, ?) RETURNING id",
            (found.code, seat, class_name, class_name, now, photo),
        )
        name = db.value("SELECT name FROM participants WHERE id = ?", (seat,))
    return Submission(submission_id, seat, name, "new-classes", "", class_name, class_name, now, False)


def photos(code: str, classes: list[str]) -> dict[str, list[tuple[int, bytes]]]:
    """Each named class's visible photos, oldest first, with their submission ids."""
    found: dict[str, list[tuple[int, bytes]]] = {name: [] for name in classes}
    with _transaction(write=False) as db:
        room_code = _room(db, code).code
        rows = db.rows(
            "SELECT id, label, photo FROM submissions WHERE room = ? AND activity = 'new-classes' AND hidden = 0 "
            "AND photo IS NOT NULL ORDER BY id",
            (room_code,),
        )
    for submission_id, label, photo in rows:
        if label in found:
            found[label].append((submission_id, bytes(photo)))
    return found


def record_result(submission_id: int, result: dict[str, Any]) -> None:
    """What the models said about a submission (JSON-able), computed after it was stored."""
    with _transaction() as db:
        db.execute("UPDATE submissions SET result = ? WHERE id = ?", (json.dumps(result), submission_id))


def submissions(code: str, activity: str, round: str | None = None, hidden: bool = True) -> list[Submission]:
    """What the room received for `activity` (in one `round`, or all), oldest first; `hidden=False` leaves
    out what the presenter hid."""
    query = (
        "SELECT s.id, s.participant, p.name, s.activity, s.round, s.text, s.label, s.created, s.hidden, s.result "
        "FROM submissions s JOIN participants p ON p.id = s.participant WHERE s.room = ? AND s.activity = ?"
    )
    params: list[Any] = [normalise_code(code), activity]
    if round is not None:
        query += " AND s.round = ?"
        params.append(round)
    if not hidden:
        query += " AND s.hidden = 0"
    with _transaction(write=False) as db:
        _room(db, code)
        rows = db.rows(query + " ORDER BY s.id", params)
    return [Submission(*row[:8], bool(row[8]), json.loads(row[9])) for row in rows]


def hide(code: str, presenter_key: str, submission_id: int, hidden: bool = True) -> None:
    """Hide a submission from every screen (or show it again)."""
    with _transaction() as db:
        found = _room(db, code, presenter_key)
        db.execute(
            "UPDATE submissions SET hidden = ? WHERE id = ? AND room = ?", (int(hidden), submission_id, found.code)
        )


def vote(code: str, token: str, submission_id: int, choice: str) -> None:
    """The participant's vote on a submission (a later vote replaces it)."""
    with _transaction() as db:
        found = _room(db, code)
        seat = _seat(db, found, token)
        if not db.value(
            "SELECT id FROM submissions WHERE id = ? AND room = ? AND hidden = 0", (submission_id, found.code)
        ):
            raise ClassroomError("That sentence is no longer up for a vote.")
        db.execute("DELETE FROM votes WHERE submission = ? AND participant = ?", (submission_id, seat))
        db.execute("INSERT INTO votes VALUES (?, ?, ?)", (submission_id, seat, choice))


def votes(code: str, activity: str) -> dict[int, dict[str, int]]:
    """Submission id -> choice -> how many voted for it, over the visible submissions of `activity`."""
    with _transaction(write=False) as db:
        found = _room(db, code)
        rows = db.rows(
            "SELECT v.submission, v.choice, COUNT(*) FROM votes v JOIN submissions s ON s.id = v.submission "
            "WHERE s.room = ? AND s.activity = ? AND s.hidden = 0 GROUP BY v.submission, v.choice",
            (found.code, activity),
        )
    tally: dict[int, dict[str, int]] = {}
    for submission_id, choice, count in rows:
        tally.setdefault(submission_id, {})[choice] = count
    return tally


def my_votes(code: str, token: str) -> dict[int, str]:
    """Submission id -> this participant's vote."""
    with _transaction(write=False) as db:
        found = _room(db, code)
        rows = db.rows(
            "SELECT v.submission, v.choice FROM votes v JOIN participants p ON p.id = v.participant "
            "WHERE p.room = ? AND p.token = ?",
            (found.code, token),
        )
    return dict(rows)
