"""Database connections and the unit of work.

SQLite (the embedded default, ``var/cadreflow.db``) runs in WAL mode. Its deferred transactions can
fail with "database is locked" when they later write, so writers begin with ``BEGIN IMMEDIATE`` on a
separate engine and wait (busy timeout) for each other; readers use plain deferred transactions and
never block writers. On PostgreSQL one engine serves both; writers lock the case row
(``SELECT ... FOR UPDATE``) so two steps on one case serialise and the second sees the first's result.
Driver errors that mean "someone else got there first" are translated into :class:`Conflict` here,
at the driver edge, and nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import Conflict

DEFAULT_SQLITE_PATH = Path("var") / "cadreflow.db"


def database_url(explicit: str | None = None) -> str:
    """The URL to use: explicit, else ``CADREFLOW_DATABASE_URL``, else SQLite at ``var/cadreflow.db``."""
    url = explicit or os.environ.get("CADREFLOW_DATABASE_URL")
    if url:
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, emit BEGIN, so we choose its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """One database: a reader and a writer session factory over the same URL."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.read_engine = _sqlite_engine(self.url, immediate=False)
            self.write_engine = _sqlite_engine(self.url, immediate=True)
        else:
            self.read_engine = self.write_engine = create_engine(self.url, pool_pre_ping=True)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: commits if the block succeeds, rolls back on any error."""
        session = self._write()
        try:
            yield session
            session.commit()
        except IntegrityError as err:
            session.rollback()
            raise Conflict(
                f"someone else changed this first ({_first_line(err)}); reload and try again"
            ) from err
        except OperationalError as err:
            session.rollback()
            if "locked" in str(err) or "could not serialize" in str(err) or "deadlock" in str(err):
                raise Conflict("the case is busy with another change; try again") from err
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._read()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


def _first_line(err: Exception) -> str:
    return str(getattr(err, "orig", err)).splitlines()[0][:200]
