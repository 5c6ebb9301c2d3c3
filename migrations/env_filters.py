"""What the models-versus-database comparison leaves out, shared by env.py and the tests."""


def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
    """SQLite's FTS5 search table (and its shadow tables) live outside the models on purpose."""
    return not (type_ == "table" and name and name.startswith("datasets_fts"))
