"""Signed pagination cursors, one kernel helper for every list that pages (search, audit events,
record streams). A cursor is opaque to the caller, signed with the app's secret so it cannot be
forged, and bound to the query it came from (a search's filters, an organisation, a grant and
file) so it cannot be replayed against another one."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from marketplace.kernel.config import current_settings
from marketplace.kernel.errors import ValidationFailed


class SignedCursor:
    def __init__(self, salt: str, *, invalid: str = "The cursor is not valid."):
        self.salt = salt
        self.invalid = invalid

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(current_settings().secret_key, salt=self.salt)

    def dump(self, position: dict[str, Any], *, bound: Any) -> str:
        """A cursor for `position` that only `load(..., bound=the same value)` accepts."""
        return self._serializer().dumps({"p": position, "b": bound})

    def load(self, cursor: str, *, bound: Any) -> dict[str, Any]:
        """The position, or a 400 naming the cursor if it is forged, edited or from another query."""
        try:
            data = self._serializer().loads(cursor)
            if not isinstance(data, dict) or data.get("b") != bound or not isinstance(data.get("p"), dict):
                raise BadSignature("bound to another query")
            return data["p"]
        except BadSignature:
            raise ValidationFailed(self.invalid, errors={"cursor": ["Invalid or tampered cursor; start again without it."]}) from None
