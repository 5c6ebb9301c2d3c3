"""Database kernel: the typed declarative base, the engine, and one transaction per service call.

Services run their work inside :func:`unit_of_work` (or the :func:`transactional` decorator).
The outermost unit of work commits; nested ones join it, so a service that calls another
service still commits once. Side effects on external systems are registered with
:func:`after_commit` and run only once the transaction has committed, so a rolled-back request
never leaves a deleted object or a Stripe call behind.
"""

from __future__ import annotations

import functools
import logging
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, ParamSpec, TypeVar

from flask import current_app
from sqlalchemy import JSON, DateTime, Enum, MetaData, Uuid, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.dialects import postgresql, sqlite

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite drops the offset on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    """Typed declarative base for every model of every domain (one metadata, one migration history)."""

    if TYPE_CHECKING:
        # Every model is declared with a __tablename__, so it is mapped to a Table (DeclarativeBase
        # types __table__ as any FromClause, which has no insert/update/delete).
        __table__: ClassVar[Table]

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        dict[str, int]: JSON(),
        list[str]: JSON(),
        list[Any]: JSON(),
        uuid.UUID: Uuid(),
    }


def str_enum(e: type, name: str) -> "Enum":
    """An enum column stored as a string with a CHECK constraint (adding a value is a simple
    migration, unlike PostgreSQL's native enum types)."""
    return Enum(e, name=name, native_enum=False, create_constraint=True, length=16, values_callable=lambda x: [m.value for m in x])


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class Database:
    """Owns the engine and the request-scoped session of one application."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _configure_sqlite(self.engine)
        self.factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.session = scoped_session(self.factory)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> None:
        """One round trip; raises when the database does not answer."""
        # Autocommit: a probe must not queue behind SQLite's write lock (see _configure_sqlite).
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT 1"))

    def remove(self, *_: Any) -> None:
        self.session.remove()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Python's sqlite3 opens transactions lazily and lets reads run outside them; we want
        # SQLite's own locking so that check-and-debit is atomic: BEGIN IMMEDIATE takes the
        # write lock at the start of every transaction, serialising writers.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_db() -> Database:
    return current_app.extensions["db"]


def get_session() -> Session:
    """The current application's request-scoped session."""
    return get_db().session()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Run a block in one transaction; nested blocks join the outermost one."""
    session = get_session()
    depth = session.info.get("uow_depth", 0)
    if depth:
        session.info["uow_depth"] = depth + 1
        try:
            yield session
        finally:
            session.info["uow_depth"] = depth
        return
    session.info["uow_depth"] = 1
    session.info["after_commit"] = []
    session.info["durable"] = []
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info["after_commit"] = []
        _persist_durable(session)
        raise
    finally:
        session.info["uow_depth"] = 0
    callbacks = session.info.pop("after_commit", [])
    for fn in callbacks:
        try:
            fn()
        except Exception:  # the commit stands; a failed side effect is logged for repair
            log.exception("after-commit side effect failed", extra={"callback": getattr(fn, "__name__", repr(fn))})


def in_unit_of_work() -> bool:
    """Whether a unit of work is open (a new one would join it rather than commit)."""
    return bool(get_session().info.get("uow_depth"))


def _persist_durable(session: Session) -> None:
    """Write the rows that must survive the rollback of the work that produced them.

    A refused request rolls back, but the refusal itself (an audit event) must be kept.
    """
    factories = session.info.pop("durable", [])
    if not factories:
        return
    try:
        for make in factories:
            session.add(make())
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not persist durable rows after rollback")


def keep_on_rollback(make: Callable[[], Any]) -> None:
    """Register a row factory whose row is written even if the current unit of work fails."""
    session = get_session()
    if session.info.get("uow_depth"):
        session.info.setdefault("durable", []).append(make)


def insert_ignore(model: type[Base], **values: Any) -> None:
    """INSERT a row unless its primary key exists (race-free on PostgreSQL and SQLite)."""
    session = get_session()
    insert: Callable[[type[Base]], postgresql.Insert | sqlite.Insert] = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert  # each dialect's INSERT has on_conflict_do_nothing
    session.execute(insert(model).values(**values).on_conflict_do_nothing())


def count_up(model: type[Base], column: str, by: int = 1, **key: Any) -> None:
    """Add `by` to `column` of the row with primary key `key`, making the row (with `by`) when
    there is none: one atomic statement, so concurrent counts are never lost."""
    session = get_session()
    insert: Callable[[type[Base]], postgresql.Insert | sqlite.Insert] = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert  # each dialect's INSERT has on_conflict_do_update
    stmt = insert(model).values(**key, **{column: by})
    session.execute(stmt.on_conflict_do_update(index_elements=list(key), set_={column: getattr(model, column) + by}))


def insert_ignore_rows(model: type[Base], rows: list[dict[str, Any]]) -> None:
    """INSERT many rows in one statement, skipping those whose key exists."""
    if not rows:
        return
    session = get_session()
    insert: Callable[[type[Base]], postgresql.Insert | sqlite.Insert] = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert  # each dialect's INSERT has on_conflict_do_nothing
    session.execute(insert(model).values(rows).on_conflict_do_nothing())


def insert_ignore_returning(model: type[Base], column: Any, **values: Any) -> Any:
    """INSERT a row unless a unique constraint says it exists; return `column` of the new row,
    or None when it already existed. On PostgreSQL a concurrent insert of the same key waits
    for the other transaction and then reports the conflict (the basis of idempotent debits)."""
    session = get_session()
    insert: Callable[[type[Base]], postgresql.Insert | sqlite.Insert] = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert  # each dialect's INSERT has on_conflict_do_nothing
    return session.execute(insert(model).values(**values).on_conflict_do_nothing().returning(column)).scalar_one_or_none()


def end_read() -> None:
    """Finish the read-only transaction a service opened before slow external I/O (an upload,
    an object scan), so no lock or connection is held meanwhile. Loaded objects stay usable."""
    session = get_session()
    if session.info.get("uow_depth"):
        raise RuntimeError("end_read() inside a unit of work")
    if session.in_transaction():
        session.commit()


def after_commit(fn: Callable[[], Any]) -> None:
    """Run `fn` once the current unit of work commits (never if it rolls back)."""
    session = get_session()
    if not session.info.get("uow_depth"):
        raise RuntimeError("after_commit() called outside a unit of work")
    session.info.setdefault("after_commit", []).append(fn)


P = ParamSpec("P")
R = TypeVar("R")


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: the service method runs in one unit of work."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with unit_of_work():
            return fn(*args, **kwargs)

    return wrapper
