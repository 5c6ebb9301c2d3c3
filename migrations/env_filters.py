"""What the models-versus-database comparison leaves out, shared by env.py and the tests."""


def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
    """SQLite's FTS5 search table (and its shadow tables) live outside the models on purpose."""
    return not (type_ == "table" and name and name.startswith("datasets_fts"))


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Indexes declared for PostgreSQL only (`ddl_if`: the GIN full-text and trigram indexes) have
    no SQLite counterpart."""
    return not (type_ == "index" and not reflected and compare_to is None and _postgres_only(obj))


def _postgres_only(obj) -> bool:  # type: ignore[no-untyped-def]
    ddl_if = getattr(obj, "_ddl_if", None)
    return ddl_if is not None and getattr(ddl_if, "dialect", None) == "postgresql"
