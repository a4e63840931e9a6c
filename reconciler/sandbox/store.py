"""The world's persistence: one SQLite file in WAL mode, resources as JSON documents.

Resources are keyed by their lower-cased ARM id, with their lower-cased type, parent id,
subscription and resource group kept in columns for listing; a side table of pools by
the image they use (kept by triggers) answers "which pools use this version" without
reading every pool. Long-running operations,
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

# Pools by the image they use, kept by triggers on `resources` (so no handler can forget
# it): a row per pool with its account, fixed-scale target nodes, whether it autoscales
# and when it is gone. "Which pools in this region use this version, and how many nodes do
# they want?" is asked on every resize; it is an index lookup and a sum over small rows
# here instead of a parse of every pool document.
_POOL_TYPE = "microsoft.batch/batchaccounts/pools"
_IMAGE_REF = "$.properties.deploymentConfiguration.virtualMachineConfiguration.imageReference.id"
_FIXED = "$.properties.scaleSettings.fixedScale"
_POOL_ROW = f"""
    coalesce(lower(json_extract(new.doc, '{_IMAGE_REF}')), ''),
    coalesce(json_extract(new.doc, '{_FIXED}.targetDedicatedNodes'), 0)
        + coalesce(json_extract(new.doc, '{_FIXED}.targetLowPriorityNodes'), 0),
    json_extract(new.doc, '$.properties.scaleSettings.autoScale') IS NOT NULL,
    json_extract(new.doc, '$._sys.gone_at')
"""
_POOL_INDEX = (
    """CREATE TABLE pool_images(
    id TEXT PRIMARY KEY, parent TEXT NOT NULL, image TEXT NOT NULL, targets INTEGER NOT NULL,
    autoscale INTEGER NOT NULL, gone_at REAL)""",
    # Only the rare rows are indexed by image (pools being deleted, autoscaling pools): the
    # common ones are summed in pool_demand, and a full index would tempt the planner.
    "CREATE INDEX pool_images_deleting ON pool_images(image, parent) WHERE gone_at IS NOT NULL",
    "CREATE INDEX pool_images_autoscale ON pool_images(image, parent) WHERE autoscale",
    # Running totals of the fixed-scale targets of pools not being deleted, per image and
    # account: a resize reads one row instead of summing every pool on its image.
    """CREATE TABLE pool_demand(
    image TEXT NOT NULL, parent TEXT NOT NULL, total INTEGER NOT NULL,
    PRIMARY KEY(image, parent))""",
    """CREATE TRIGGER pool_demand_add AFTER INSERT ON pool_images
WHEN new.gone_at IS NULL AND NOT new.autoscale
BEGIN
    INSERT INTO pool_demand(image, parent, total) VALUES (new.image, new.parent, new.targets)
    ON CONFLICT(image, parent) DO UPDATE SET total = total + excluded.total;
END""",
    """CREATE TRIGGER pool_demand_remove AFTER DELETE ON pool_images
WHEN old.gone_at IS NULL AND NOT old.autoscale
BEGIN
    UPDATE pool_demand SET total = total - old.targets
    WHERE image = old.image AND parent = old.parent;
END""",
    f"""CREATE TRIGGER pool_images_put AFTER INSERT ON resources WHEN new.type = '{_POOL_TYPE}'
BEGIN
    DELETE FROM pool_images WHERE id = new.id;
    INSERT INTO pool_images(id, parent, image, targets, autoscale, gone_at)
    VALUES (new.id, new.parent, {_POOL_ROW});
END""",
    f"""CREATE TRIGGER pool_images_delete AFTER DELETE ON resources WHEN old.type = '{_POOL_TYPE}'
BEGIN
    DELETE FROM pool_images WHERE id = old.id;
END""",
)
# Worlds made before the index existed: fill it once from the pools they hold.
_POOL_BACKFILL = f"""
INSERT INTO pool_images(id, parent, image, targets, autoscale, gone_at)
SELECT id, parent, {_POOL_ROW.replace("new.doc", "doc")} FROM resources WHERE type = '{_POOL_TYPE}'
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

    def pools_using_image(
        self, image_id: str, parents: list[str], now: float, exclude: str
    ) -> tuple[int, list[str]]:
        """Pools in accounts `parents` using `image_id`, alive at `now`, except `exclude`.

        Returns (sum of their fixed-scale targets, ids of the autoscaling ones, whose
        targets come from a formula the caller evaluates). Reads the running totals, the
        few pools being deleted and the autoscaling ones: never every pool on the image.
        """
        if not parents:
            return 0, []
        image = image_id.lower()
        in_parents = f"parent IN ({','.join('?' * len(parents))})"
        accounts = [p.lower() for p in parents]
        conn = self._conn
        total = conn.execute(
            f"SELECT coalesce(sum(total), 0) FROM pool_demand WHERE image = ? AND {in_parents}",
            [image, *accounts],
        ).fetchone()[0]
        own = conn.execute(
            "SELECT targets FROM pool_images WHERE id = ? AND image = ? AND gone_at IS NULL "
            f"AND NOT autoscale AND {in_parents}",
            [exclude.lower(), image, *accounts],
        ).fetchone()
        deleting = conn.execute(
            "SELECT coalesce(sum(targets), 0) FROM pool_images WHERE image = ? "
            f"AND gone_at IS NOT NULL AND gone_at > ? AND NOT autoscale AND id != ? AND {in_parents}",
            [image, now, exclude.lower(), *accounts],
        ).fetchone()[0]
        auto = conn.execute(
            "SELECT id FROM pool_images WHERE image = ? AND autoscale AND id != ? "
            f"AND (gone_at IS NULL OR gone_at > ?) AND {in_parents}",
            [image, exclude.lower(), now, *accounts],
        )
        fixed = int(total) - (int(own[0]) if own else 0) + int(deleting)
        return fixed, [r[0] for r in auto]

    def all_resources(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self._conn.execute("SELECT type, doc FROM resources ORDER BY id")
        return [(r[0], json.loads(r[1])) for r in rows]

    def clear(self) -> None:
        for table in ("resources", "operations", "buckets", "counters", "meta", "pool_demand"):
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

    def operation_ids(self) -> list[tuple[str]]:
        return list(self._conn.execute("SELECT id FROM operations"))

    def delete_operations(self, ids: set[str]) -> None:
        self._conn.executemany("DELETE FROM operations WHERE id = ?", [(i,) for i in ids])

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
        with self._writer:
            conn.execute("BEGIN IMMEDIATE")
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pool_images'"
            ).fetchone()
            if not exists:
                for statement in _POOL_INDEX:
                    conn.execute(statement)
                conn.execute(_POOL_BACKFILL)
            conn.execute("COMMIT")

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
