"""The building blocks of every domain's request schemas: a strict base schema (unknown fields
and NUL characters are refused) and strict field types (JSON booleans that are booleans, integers
that are ASCII digits). One home, so every endpoint refuses hostile input the same way."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

import marshmallow as ma
from marshmallow import validate


def _nul_fields(value: Any, path: str = "") -> list[str]:
    if isinstance(value, str):
        return [path or "_body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _nul_fields(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, (list, tuple)):
        return [f for i, v in enumerate(value) for f in _nul_fields(v, path or "_body")]
    return []


class StrictSchema(ma.Schema):
    """Every request schema: unknown fields are refused, and so are NUL characters, which no
    text column can store (PostgreSQL refuses them)."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def _refuse_nul(self, data: Any, **kwargs: Any) -> Any:
        items = data.items() if hasattr(data, "items") else []
        bad = _nul_fields({k: (data.getlist(k) if hasattr(data, "getlist") else v) for k, v in items}) if items else _nul_fields(data)
        if bad:
            raise ma.ValidationError({f.split(".")[0]: ["NUL characters are not allowed."] for f in bad})
        return data


def Text(maximum: int, minimum: int = 1, **kw: Any) -> ma.fields.String:  # noqa: N802 - reads like a field type
    return ma.fields.String(validate=validate.Length(min=minimum, max=maximum), **kw)


class StrictBoolean(ma.fields.Boolean):
    """A JSON boolean, strictly: true or false, not 0, 1, "yes" or "on" (0 == False in Python,
    so a truthy/falsy set cannot say this; the type is checked instead)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


ASCII_INT = re.compile(r"-?[0-9]{1,19}")


def ascii_int(text: str) -> int:
    """An integer typed by a person (a query string, a form field): plain ASCII digits with an
    optional minus, at most 19 digits. int() would also take "١٢", "1_000", "+5" and " 7 "."""
    if not ASCII_INT.fullmatch(text):
        raise ValueError(f"Not a plain integer: {text[:40]!r}")
    return int(text)


class Int(ma.fields.Integer):
    """An integer that, when it comes as text (a query string, a form), is plain ASCII digits with
    an optional minus (`ascii_int`)."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, str) and not ASCII_INT.fullmatch(value):
            raise self.make_error("invalid")
        return super()._validated(value)


class When(ma.fields.AwareDateTime):
    """A moment with its UTC offset, as the services store it: in UTC. A date at the edge of the
    calendar whose offset pushes it past year 9999 or before year 1 ("9999-12-31T23:59:59-14:00")
    is refused here, not left to overflow in the database layer."""

    default_error_messages = {"range": "Out of range: the moment must fall between years 1 and 9999 in UTC."}

    def __init__(self, **kw: Any) -> None:
        super().__init__(default_timezone=None, **kw)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:
            raise self.make_error("range") from None


def Flag(**kw: Any) -> StrictBoolean:  # noqa: N802 - reads like a field type
    """A strict JSON boolean for request bodies (query strings use ma.fields.Boolean, whose text
    forms they need)."""
    return StrictBoolean(**kw)


# Control, invisible and bidirectional-override characters: they make two names look alike, a
# document lie about its text, or a terminal run an escape sequence.
UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class Name(ma.fields.String):
    """A name or one-line text people read (in pages, documents, e-mail subjects, other tenants'
    inboxes and terminals): trimmed, not blank, without control characters or the invisible and
    bidirectional ones."""

    def __init__(self, maximum: int, **kw: Any) -> None:
        super().__init__(validate=validate.Length(min=1, max=maximum), **kw)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ma.ValidationError("Not blank.")
        if UNSAFE_TEXT.search(text):
            raise ma.ValidationError("No control, invisible or bidirectional-override characters.")
        return text
