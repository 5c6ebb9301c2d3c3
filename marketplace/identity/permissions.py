"""Who may do what with organisations, members and keys.

Another tenant's organisation is reported as not found, never as forbidden, so that callers
cannot probe which organisations exist.
"""

from __future__ import annotations

import uuid

from marketplace.kernel.errors import Forbidden, NotFound
from marketplace.identity.models import OrgRole
from marketplace.kernel.principal import Principal


def can_see_org(principal: Principal, org_id: uuid.UUID) -> bool:
    return principal.role_in(org_id) is not None or principal.platform_admin or principal.platform_compliance


def require_org_visible(principal: Principal, org_id: uuid.UUID) -> None:
    principal.require_authenticated()
    if not can_see_org(principal, org_id):
        raise NotFound("No such organisation.")


def require_org_role(principal: Principal, org_id: uuid.UUID, minimum: OrgRole, *, scope: str) -> None:
    """The caller must be a member with at least `minimum`, and its key must carry `scope`."""
    require_org_visible(principal, org_id)
    principal.require_scope(scope)
    if principal.has_role(org_id, minimum) or (minimum != OrgRole.owner and principal.platform_admin):
        return
    raise Forbidden(f"This needs the {minimum.value} role (or higher) in the organisation.")


def require_platform_admin(principal: Principal) -> None:
    principal.require_authenticated()
    if not principal.platform_admin:
        raise Forbidden("Only a platform administrator may do this.")
