"""The base of the row factories: factory_boy's SQLAlchemy factory on the application's session.

Row factories write rows straight into the database, without the services and without HTTP: for
tests that need data to exist, not the behaviour of creating it (that is tested where it is the
subject). The rows are the ones the services would write, so the services accept them.

Session: `marketplace.kernel.db.get_session()`, the session of the current app context. In a test
that is the `app` fixture's session, bound to the test's one outer transaction (tests/conftest.py),
the same session the test client's requests use: a row is visible to the very next request and
goes away with the test's rollback.

Persistence is `commit`, not `flush`: in a test, a commit only releases the savepoint the session
works in (the outer transaction is still rolled back), but a row that is merely flushed would be
rolled back by the next service call in the same test that refuses something (every refusal rolls
back its unit of work, and with it whatever the session had not committed). Outside a test
transaction (`session_app` fixtures that need committed data) a commit is a real commit, as the
HTTP-built data was. Builders that write many rows at once do so in `batch()`: each row is
flushed as it is made (ids, defaults and constraints as usual) and the lot committed once.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from factory.alchemy import SQLAlchemyModelFactory

from marketplace.kernel.db import get_session


class RowFactory(SQLAlchemyModelFactory):
    """A factory of one model's rows in the current app's session.

    Related rows are given as objects (`dataset=ds`), not as ids: a declaration that is not
    overridden is evaluated, so passing only `dataset_id` would still make a dataset.

    `_extras` names declarations that are not columns but are handed to `_complete` once the row
    exists (say, the facets of a dataset): they may depend on the other declarations, unlike
    factory_boy's `Params`, and may need the row's id."""

    _extras: tuple[str, ...] = ()

    class Meta:
        abstract = True
        sqlalchemy_session_factory = get_session
        sqlalchemy_session_persistence = "commit"  # as _save does: commit, or flush inside batch()

    @classmethod
    def _save(cls, model_class: Any, session: Any, args: Any, kwargs: Any) -> Any:
        obj = model_class(*args, **kwargs)
        session.add(obj)
        commit()
        return obj

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        extras = {k: kwargs.pop(k) for k in cls._extras if k in kwargs}
        obj = super()._create(model_class, *args, **kwargs)
        cls._complete(obj, **extras)
        return obj

    @classmethod
    def _complete(cls, obj: Any, **extras: Any) -> None:
        """Rows that belong with `obj` (written by the same service call); commit them."""


_batches = [0]


@contextmanager
def batch() -> Iterator[None]:
    """Make several rows with one commit at the end (nothing is committed if the block fails)."""
    _batches[0] += 1
    try:
        yield
    finally:
        _batches[0] -= 1
    commit()


def commit() -> None:
    """Commit what was written (see the module's note on persistence); inside `batch()`, flush."""
    if _batches[0]:
        get_session().flush()
    else:
        get_session().commit()
