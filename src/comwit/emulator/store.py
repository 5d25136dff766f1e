"""The emulator's state: SQLite for metadata, one file per build artifact, under one directory.

Thread-safe (one connection behind a lock) and safe to share with another process on the
same directory (WAL, busy timeout), so `comwit emulator token` works while a server runs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from comwit.emulator import schemas
from comwit.emulator.problems import forbidden, not_found
from comwit.errors import ComwitError
from comwit.escape import quoted
from comwit.frozen import frozen

SCOPES: Final = ("project:read", "app:read", "app:deploy", "app:write")
PROJECT_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
PROJECT_RULE: Final = "1-63 letters, digits, '.', '_' and '-' (a letter or digit first)"
_SCHEMA_VERSION: Final = 2
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY, user_id TEXT NOT NULL, scopes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (project_id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    project_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (project_id, user_id));
CREATE TABLE IF NOT EXISTS apps (
    app_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL,
    active_build_id TEXT, UNIQUE (project_id, name));
CREATE TABLE IF NOT EXISTS builds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, build_id TEXT NOT NULL UNIQUE,
    app_id TEXT NOT NULL, created_at TEXT NOT NULL, artifact_size INTEGER NOT NULL,
    deployed_at_ms INTEGER NOT NULL, env_ref TEXT, max_concurrent_requests INTEGER);
CREATE TABLE IF NOT EXISTS domains (
    domain TEXT PRIMARY KEY, app_id TEXT NOT NULL, status TEXT NOT NULL,
    dns_mode TEXT NOT NULL, verification TEXT NOT NULL, published INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS variables (
    app_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (app_id, key));
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
    level TEXT NOT NULL, message TEXT NOT NULL, build_id TEXT);
CREATE INDEX IF NOT EXISTS events_by_app ON events (app_id, seq);
CREATE TABLE IF NOT EXISTS project_domains (
    domain TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL,
    hosted_zone_id TEXT NOT NULL, delegated INTEGER NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
"""


@frozen
class Principal:
    """Who is calling: a token's user and the scopes the token carries."""

    user_id: str
    scopes: frozenset[str]


class Store:
    """Open (creating if needed) the emulator state under `data_dir`; one that cannot be
    opened is a ComwitError ending in `fix`, what the user can do about it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Callable[[], float] = time.time,
        fix: str = "pass another --data",
    ) -> None:
        self.data_dir = data_dir
        self.artifact_dir = data_dir / "artifacts"
        self.incoming_dir = self.artifact_dir / "incoming"
        self.clock = clock
        self._lock = threading.RLock()
        self._db = _open_database(data_dir, self.incoming_dir, fix)
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # Durable across crashes of the process, not of the machine: right for a test server.
            self._db.execute("PRAGMA synchronous=NORMAL")
            foreign = _foreign(self._db)
            if foreign:
                self._db.close()
                raise _unusable(data_dir, foreign, fix)
            self._db.executescript(_SCHEMA)  # a state of an older schema gains its new tables
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except sqlite3.Error as exc:  # not a database, or one that cannot be written
            self._db.close()
            raise _unusable(data_dir, str(exc), fix) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; readers use it too, for a consistent view."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def now(self) -> tuple[str, int]:
        """The clock as (RFC 3339 UTC seconds, epoch milliseconds)."""
        now = self.clock()
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), int(now * 1000)

    # -- tokens and projects -------------------------------------------------------------

    def issue_token(self, scopes: Iterable[str], projects: Iterable[str]) -> str:
        """A new `cwt_` token for a new user who is a member of `projects` (created if new)."""
        scope_set = sorted(set(scopes))
        unknown = [s for s in scope_set if s not in SCOPES]
        if unknown:
            raise ValueError(f"unknown scope {quoted(unknown[0])}; known: {', '.join(SCOPES)}")
        names = sorted(set(projects))
        bad = [p for p in names if not PROJECT_NAME.fullmatch(p)]
        if bad:
            raise ValueError(f"the project id {quoted(bad[0])} is not {PROJECT_RULE}")
        token = f"cwt_{secrets.token_hex(20)}"
        user_id = f"user-{secrets.token_hex(6)}"
        with self.transaction() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?)",
                (_digest(token), user_id, ",".join(scope_set)),
            )
            for name in names:
                db.execute("INSERT OR IGNORE INTO projects VALUES (?, ?)", (name, name))
                db.execute("INSERT INTO members VALUES (?, ?)", (name, user_id))
        return token

    def revoke_token(self, token: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM tokens WHERE token_sha256 = ?", (_digest(token),))

    def authenticate(self, token: str) -> Principal | None:
        with self.transaction() as db:
            row = db.execute(
                "SELECT user_id, scopes FROM tokens WHERE token_sha256 = ?", (_digest(token),)
            ).fetchone()
        if row is None:
            return None
        return Principal(row["user_id"], frozenset(filter(None, row["scopes"].split(","))))

    def list_projects(self, who: Principal) -> schemas.ProjectList:
        with self.transaction() as db:
            rows = db.execute(
                "SELECT p.project_id, p.name FROM projects p JOIN members m USING (project_id)"
                " WHERE m.user_id = ? ORDER BY p.project_id",
                (who.user_id,),
            ).fetchall()
        return schemas.ProjectList(projects=[schemas.Project(**dict(r)) for r in rows])

    def check_project(self, db: sqlite3.Connection, who: Principal, project_id: str) -> None:
        """404 for a project that does not exist, 403 for one the caller is not a member of."""
        if db.execute("SELECT 1 FROM projects WHERE project_id = ?", (project_id,)).fetchone():
            member = db.execute(
                "SELECT 1 FROM members WHERE project_id = ? AND user_id = ?",
                (project_id, who.user_id),
            ).fetchone()
            if member is None:
                raise forbidden(f"You are not a member of project {project_id}.", "not_a_member")
            return
        raise not_found(f"Project {project_id} does not exist.", "project_not_found")

    def find_app(
        self, db: sqlite3.Connection, who: Principal, project_id: str, app_id: str
    ) -> schemas.App:
        """The app, after checking the caller may see its project; 404 when missing."""
        self.check_project(db, who, project_id)
        row = db.execute(
            "SELECT app_id, name, active_build_id FROM apps WHERE project_id = ? AND app_id = ?",
            (project_id, app_id),
        ).fetchone()
        if row is None:
            raise not_found(
                f"App {app_id} does not exist in project {project_id}.", "app_not_found"
            )
        return schemas.App(**dict(row))

    def artifact_path(self, build_id: str) -> Path:
        return self.artifact_dir / f"{build_id}.tar.zst"


def new_id(kind: str) -> str:
    """`app-<hex>`, `build-<hex>`: random, so ids never repeat across restarts or resets."""
    return f"{kind}-{secrets.token_hex(6)}"


def _digest(token: str) -> str:
    # Only digests are stored: the data directory never holds a usable token.
    return hashlib.sha256(token.encode()).hexdigest()


def _open_database(data_dir: Path, incoming_dir: Path, fix: str) -> sqlite3.Connection:
    """The state's database; a directory that cannot hold it is the user's to change."""
    try:
        incoming_dir.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(
            data_dir / "emulator.sqlite3",
            check_same_thread=False,
            isolation_level=None,
            timeout=10.0,
        )
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        in_the_way = _file_in_the_way(incoming_dir)
        if in_the_way is not None:
            reason = f"{in_the_way} is a file, not a directory"
        raise _unusable(data_dir, reason, fix) from exc


def _file_in_the_way(directory: Path) -> Path | None:
    """The first of `directory` and the directories above it that is there but is not one."""
    for path in reversed((directory, *directory.parents)):
        try:
            if not stat.S_ISDIR(path.stat().st_mode):
                return path
        except OSError:
            return None  # not there (or not reachable): nothing in the way from here down
    return None


def _foreign(db: sqlite3.Connection) -> str | None:
    """Why the database is not the emulator's to use, or None: one of a newer schema than
    this comwit knows, or one with tables that no emulator made (it never sets no version)."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > _SCHEMA_VERSION:
        return f"its schema {version} is newer than this comwit's {_SCHEMA_VERSION}"
    if version == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        return "emulator.sqlite3 is a database the emulator did not make"
    return None


def _unusable(data_dir: Path, reason: str, fix: str) -> ComwitError:
    return ComwitError(f"the emulator cannot keep its state in {data_dir} ({reason}); {fix}")
