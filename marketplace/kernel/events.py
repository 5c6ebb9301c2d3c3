"""In-process domain events, so that a lower layer can let a higher one take part without
importing it (catalog → licensing must not be an import).

Handlers run synchronously inside the emitter's unit of work: a handler that raises a domain
error refuses the operation, and its writes commit or roll back with the emitter's.
"""

from __future__ import annotations

from typing import Any, Callable

_handlers: dict[str, list[Callable[..., Any]]] = {}


def subscribe(name: str, handler: Callable[..., Any]) -> None:
    """Register `handler` for event `name` (registering the same handler twice is a no-op)."""
    handlers = _handlers.setdefault(name, [])
    if handler not in handlers:
        handlers.append(handler)


def emit(name: str, **payload: Any) -> None:
    for handler in list(_handlers.get(name, [])):
        handler(**payload)


# Event names, in one place.
VERSION_PUBLISHING = "catalog.version.publishing"  # (principal, version_id): raise to refuse
DATASET_LATEST_CHANGED = "catalog.dataset.latest_changed"  # (dataset, version_id | None, previous_version_id | None)
VERSION_WITHDRAWN = "catalog.version.withdrawn"  # (principal, version, dataset, reason)
ACCESS_APPROVED = "catalog.access.approved"  # (principal, request, offer: dict | None): make the private offer, set request.offer_id
CREDENTIALS_RESET = "identity.credentials.reset"  # (principal, user_id, reason): a user's browser-made credentials end too
MEMBER_REMOVED = "identity.member.removed"  # (principal, org_id, user_id): credentials they made for the organisation end
MEMBER_INVITED = "identity.member.invited"  # (invitation, org_name, inviter_name, link): e-mail the link to the invited address
