"""Who may do what with organisations, members, API keys and platform administration, in one
table. Another tenant's organisation is reported as not found, never as forbidden, so callers
cannot probe which organisations exist; platform staff see every organisation.
"""

from __future__ import annotations

import enum

from marketplace.kernel.policy import ANY_ROLE, MANAGERS, OWNERS, Platform, Policy, Rule

STAFF = frozenset({Platform.admin, Platform.compliance})
ADMIN = frozenset({Platform.admin})


class IdentityPermission(enum.StrEnum):
    ORG_CREATE = "org:create"
    ORG_READ = "org:read"
    ORG_UPDATE = "org:update"
    MEMBER_MANAGE = "org:members"
    OWNER_ASSIGN = "org:owners"  # make, demote or remove an owner
    API_KEY_LIST = "api_key:list"
    API_KEY_CREATE = "api_key:create"
    API_KEY_REVOKE_OWN = "api_key:revoke_own"
    API_KEY_REVOKE_ANY = "api_key:revoke_any"
    VENDOR_APPLY = "org:vendor_apply"
    VENDOR_DECIDE = "platform:vendor_decide"
    PLATFORM_ORGS = "platform:orgs"
    PLATFORM_SESSIONS = "platform:sessions"


P = IdentityPermission
POLICY: Policy[IdentityPermission] = Policy("identity", IdentityPermission, {
    P.ORG_CREATE: Rule(signed_in=True),
    P.ORG_READ: Rule(parties={"org": ANY_ROLE}, platform=STAFF),
    P.ORG_UPDATE: Rule(scope="org:admin", parties={"org": MANAGERS}, platform=ADMIN, sees=STAFF,
                       why="This needs the admin role (or higher) in the organisation."),
    P.MEMBER_MANAGE: Rule(scope="org:admin", parties={"org": MANAGERS}, platform=ADMIN, sees=STAFF,
                          why="This needs the admin role (or higher) in the organisation."),
    # Owners only, platform admins included (an owner's powers, e.g. the payout account, are not
    # theirs). The one exception, naming an owner for an organisation that has none, is a state
    # check in the service.
    P.OWNER_ASSIGN: Rule(scope="org:admin", parties={"org": OWNERS}, sees=STAFF, why="Only owners can make, demote or remove owners."),
    P.API_KEY_LIST: Rule(scope="org:admin", parties={"org": MANAGERS}, platform=ADMIN, sees=STAFF,
                         why="This needs the admin role (or higher) in the organisation."),
    # Every member may hold keys for itself (an auditor's are read-only: the service checks scopes).
    P.API_KEY_CREATE: Rule(scope="org:admin", parties={"org": ANY_ROLE}, sees=STAFF, why="Only members of the organisation can create its keys."),
    P.API_KEY_REVOKE_OWN: Rule(scope="org:admin", parties={"org": ANY_ROLE}, sees=STAFF, why="Only members of the organisation can revoke its keys."),
    P.API_KEY_REVOKE_ANY: Rule(scope="org:admin", parties={"org": MANAGERS}, sees=STAFF, why="Only admins can revoke other members' keys."),
    P.VENDOR_APPLY: Rule(scope="org:admin", parties={"org": MANAGERS}, platform=ADMIN, sees=STAFF,
                         why="This needs the admin role (or higher) in the organisation."),
    P.VENDOR_DECIDE: Rule(platform=ADMIN, why="Only a platform administrator may do this."),
    P.PLATFORM_ORGS: Rule(platform=ADMIN, why="Only a platform administrator may do this."),
    P.PLATFORM_SESSIONS: Rule(platform=ADMIN, why="Only a platform administrator may do this."),
}, hidden={"org": "No such organisation."})

