"""The world's persistence: one SQLite file in WAL mode, resources as JSON documents.

Resources are keyed by their lower-cased ARM id, with their lower-cased type, parent id,
subscription and resource group kept in columns for listing. Long-running operations,
throttle buckets, fault counters and world metadata (clock origin, config) live in their own
tables. Every request runs inside one `BEGIN IMMEDIATE` transaction, so writers in several
threads or processes serialise on SQLite's lock and never see half a change.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources(
    id TEXT PRIMARY KEY, type TEXT NOT NULL, parent TEXT NOT NULL,
    sub TEXT NOT NULL, rg TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS resources_parent ON resources(parent, type);
CREATE INDEX IF NOT EXISTS resources_scope ON resources(type, sub, rg);
CREATE TABLE IF NOT EXISTS operations(id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets(key TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters(key TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


class Tx:
    """Operations on the world inside one transaction (see `Store.transaction`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # -- resources ---------------------------------------------------------------------

    def get(self, rid: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT doc FROM resources WHERE id = ?", (rid.lower(),)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, rid: str, rtype: str, parent: str, doc: dict[str, Any]) -> None:
        sub, rg = scope_of(rid)
        self._conn.execute(
            "INSERT OR REPLACE INTO resources(id, type, parent, sub, rg, doc) VALUES (?,?,?,?,?,?)",
            (rid.lower(), rtype.lower(), parent.lower(), sub, rg, json.dumps(doc)),
        )

    def delete(self, rid: str) -> None:
        self._conn.execute("DELETE FROM resources WHERE id = ?", (rid.lower(),))

    def children(self, parent: str, rtype: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT doc FROM resources WHERE parent = ? AND type = ? ORDER BY id",
            (parent.lower(), rtype.lower()),
        )
        return [json.loads(r[0]) for r in rows]

    def of_type(self, rtype: str, sub: str | None = None, rg: str | None = None) -> list[dict]:
        sql, args = "SELECT doc FROM resources WHERE type = ?", [rtype.lower()]
        if sub is not None:
            sql, args = sql + " AND sub = ?", [*args, sub.lower()]
        if rg is not None:
            sql, args = sql + " AND rg = ?", [*args, rg.lower()]
        rows = self._conn.execute(sql + " ORDER BY id", args)
        return [json.loads(r[0]) for r in rows]

    def all_resources(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self._conn.execute("SELECT type, doc FROM resources ORDER BY id")
        return [(r[0], json.loads(r[1])) for r in rows]

    def clear(self) -> None:
        for table in ("resources", "operations", "buckets", "counters", "meta"):
            self._conn.execute(f"DELETE FROM {table}")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo the writes of a block that raises, keeping the rest of the transaction."""
        self._conn.execute("SAVEPOINT handler")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK TO handler")
            self._conn.execute("RELEASE handler")
            raise
        self._conn.execute("RELEASE handler")

    # -- operations, metadata, counters ------------------------------------------------

    def get_op(self, op_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT doc FROM operations WHERE id = ?", (op_id.lower(),)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put_op(self, op_id: str, doc: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO operations(id, doc) VALUES (?, ?)",
            (op_id.lower(), json.dumps(doc)),
        )

    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def bump(self, key: str) -> int:
        """Increment a persistent counter; returns the new value (1 on first use)."""
        self._conn.execute(
            "INSERT INTO counters(key, n) VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET n = n + 1",
            (key,),
        )
        return int(self._conn.execute("SELECT n FROM counters WHERE key = ?", (key,)).fetchone()[0])

    def take_token(
        self, key: str, capacity: float, refill: float, now: float
    ) -> tuple[bool, float]:
        """Token bucket refilled `refill` per second of `now`'s clock (the simulated one).

        Returns (granted, tokens left after this request). A clock that went back (a
        rebuilt world) refills nothing rather than draining the bucket.
        """
        row = self._conn.execute("SELECT tokens, at FROM buckets WHERE key = ?", (key,)).fetchone()
        tokens = (
            capacity if row is None else min(capacity, row[0] + max(0.0, now - row[1]) * refill)
        )
        granted = tokens >= 1.0
        if granted:
            tokens -= 1.0
        self._conn.execute(
            "INSERT OR REPLACE INTO buckets(key, tokens, at) VALUES (?, ?, ?)", (key, tokens, now)
        )
        return granted, tokens


def scope_of(rid: str) -> tuple[str, str]:
    """(subscription, resource group), lower-cased, of an ARM id; '' where absent."""
    parts = rid.strip("/").split("/")
    sub = rg = ""
    for i in range(0, len(parts) - 1):
        key = parts[i].lower()
        if key == "subscriptions" and not sub:
            sub = parts[i + 1].lower()
        elif key == "resourcegroups" and not rg:
            rg = parts[i + 1].lower()
    return sub, rg


_WRITER_LOCKS: dict[Path, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: Path) -> threading.Lock:
    """One lock per database file per process, shared by every Store opened on it."""
    key = path.resolve()
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


class Store:
    """The SQLite file; one connection per thread, opened lazily."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Threads of one process queue on this lock before asking SQLite for its write
        # lock: SQLite's busy handler backs off with sleeps of up to ~100 ms, which made
        # concurrent in-process requests wait far longer than the work they queue behind.
        # Other processes still serialise on SQLite's lock itself.
        self._writer = _writer_lock(self.path)
        conn = self._connection()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction (`BEGIN IMMEDIATE`): committed on success, rolled back on error."""
        conn = self._connection()
        with self._writer:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
