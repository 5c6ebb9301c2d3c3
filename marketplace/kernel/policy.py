"""Permissions as data: each domain declares, in one table, who may do each of its actions; its
services ask that table, and the authorisation matrix test reads the same table, so the rules and
the code cannot drift apart (the shape of Invenio's permission policies).

A rule names the API-key scope an action needs and, for each *party* of the object acted on (the
organisation that owns a dataset, the vendor and the buyer of an order...), the organisation roles
that may act. Platform staff are allowed by name. The decision is made in one order everywhere:

1. the caller must be signed in (401), unless the rule is public;
2. a caller with no role in any party, and no platform role that sees the object, is told the
   object does not exist (404), so tenants cannot probe each other's ids;
3. the key must carry the scope (403);
4. the caller's role must be one the rule allows for some party, or a platform role it names (403).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Mapping, TypeVar

from marketplace.kernel.errors import Forbidden, NotFound, Unauthenticated
from marketplace.kernel.principal import OrgRole, Principal

A = TypeVar("A", bound=enum.Enum)

ANY_ROLE = frozenset(OrgRole)
WRITERS = frozenset({OrgRole.owner, OrgRole.admin, OrgRole.member})
MANAGERS = frozenset({OrgRole.owner, OrgRole.admin})
OWNERS = frozenset({OrgRole.owner})
OVERSIGHT = frozenset({OrgRole.owner, OrgRole.admin, OrgRole.auditor})


class Platform(enum.StrEnum):
    """Platform-wide roles, held by the operator's staff rather than by an organisation."""

    admin = "admin"
    compliance = "compliance"


class Outcome(enum.StrEnum):
    allow = "allow"
    unauthenticated = "unauthenticated"  # 401
    hidden = "hidden"  # 404: the caller may not know the object exists
    missing_scope = "missing_scope"  # 403
    forbidden = "forbidden"  # 403


@dataclass(frozen=True)
class Rule:
    """Who may perform one action. `parties` maps a party name ("org", "vendor", "buyer") to the
    roles of that organisation that may act; `platform` lists the platform roles that may act;
    `sees` lists platform roles that may see the object without acting (403 rather than 404)."""

    scope: str | None = None
    parties: Mapping[str, frozenset[OrgRole]] = field(default_factory=dict)
    platform: frozenset[Platform] = frozenset()
    sees: frozenset[Platform] = frozenset()
    public: bool = False
    signed_in: bool = False  # any signed-in caller, whatever their organisations (e.g. create one)
    why: str = ""


def _platform_roles(principal: Principal) -> set[Platform]:
    roles = set()
    if principal.platform_admin:
        roles.add(Platform.admin)
    if principal.platform_compliance:
        roles.add(Platform.compliance)
    return roles


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    detail: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.allow


# Every table, by its permission enum: the API documentation reads the rule of each action.
_TABLES: dict[type[enum.Enum], "Policy[Any]"] = {}


class Policy(Generic[A]):
    """One domain's table: every action of the domain's permission enum has exactly one rule."""

    def __init__(self, domain: str, actions: type[A], rules: Mapping[A, Rule], *, hidden: Mapping[str, str] | None = None):
        missing = [a for a in actions if a not in rules]
        if missing:
            raise ValueError(f"the {domain} policy has no rule for {missing}")
        _TABLES[actions] = self
        self.domain = domain
        self.actions = actions
        self.rules: dict[A, Rule] = dict(rules)
        # How each party's object is named when it is hidden ("No such organisation.").
        self.hidden = dict(hidden or {})

    def rule(self, action: A) -> Rule:
        return self.rules[action]

    def decide(self, principal: Principal, action: A, **parties: uuid.UUID | None) -> Decision:
        """The decision, without raising (pages use it to show or hide a button)."""
        rule = self.rules[action]
        if rule.public:
            return Decision(Outcome.allow)
        if not principal.authenticated:
            return Decision(Outcome.unauthenticated)
        platform = _platform_roles(principal)
        roles = {name: principal.role_in(org) for name, org in parties.items() if org is not None}
        involved = any(r is not None for r in roles.values())
        # Only an object that belongs to someone can be hidden; platform-wide actions are refused.
        if roles and not involved and not rule.signed_in and not (platform & (rule.platform | rule.sees)):
            return Decision(Outcome.hidden)
        if rule.scope and not principal.has_scope(rule.scope):
            return Decision(Outcome.missing_scope, rule.scope)
        if rule.signed_in or platform & rule.platform:
            return Decision(Outcome.allow)
        for name, allowed in rule.parties.items():
            if roles.get(name) in allowed:
                return Decision(Outcome.allow)
        return Decision(Outcome.forbidden, rule.why)

    def allows(self, principal: Principal, action: A, **parties: uuid.UUID | None) -> bool:
        return self.decide(principal, action, **parties).allowed

    def require(self, principal: Principal, action: A, *, hidden_as: str | None = None, **parties: uuid.UUID | None) -> None:
        """Raise the error the decision calls for; return when the caller may act."""
        d = self.decide(principal, action, **parties)
        if d.outcome is Outcome.allow:
            return
        if d.outcome is Outcome.unauthenticated:
            raise Unauthenticated("Sign in or send an API key: Authorization: Bearer <key>.")
        if d.outcome is Outcome.hidden:
            first = next(iter(parties), "org")
            raise NotFound(hidden_as or self.hidden.get(first, "Not found."))
        if d.outcome is Outcome.missing_scope:
            raise Forbidden(f"This API key lacks the '{d.detail}' scope.", required_scope=d.detail)
        raise Forbidden(d.detail or f"Your role does not allow this ({action.value}).")


def roles_text(roles: frozenset[OrgRole]) -> str:
    """'owner or admin': for messages and the API documentation."""
    ordered = [r.value for r in OrgRole if r in roles]
    return " or ".join(ordered) if ordered else "nobody"


PARTY_WORDS = {"org": "organisation", "actor": "acting organisation", "subject": "concerned organisation"}


def describe(rule: Rule) -> str:
    """Who may, in words: what the API documentation of an operation says."""
    if rule.public:
        return "anyone"
    who = [f"the {PARTY_WORDS.get(party, party)}'s {roles_text(roles)}" for party, roles in rule.parties.items()]
    who += [f"platform {p.value}" for p in sorted(rule.platform)]
    if rule.signed_in:
        who = ["anyone signed in"]
    text = "; ".join(who) or "nobody"
    return text + (f" (API keys need the `{rule.scope}` scope)" if rule.scope else "")


F = TypeVar("F", bound=Callable[..., Any])


def requires(action: enum.Enum) -> Callable[[F], F]:
    """Declare on an API view the permission its service asks. The service enforces it; the
    declaration lets the authorisation matrix test find, for every write endpoint, the rule in
    the domain's table that says who may call it, and the operation's documentation say it."""
    def mark(fn: F) -> F:
        fn.__permission__ = action  # type: ignore[attr-defined]
        table = _TABLES.get(type(action))
        if table is not None and fn.__doc__:
            fn.__doc__ = fn.__doc__.rstrip() + f"\n\nWho may: {describe(table.rule(action))}. Permission `{action.value}`."
        return fn

    return mark
