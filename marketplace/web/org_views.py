"""The organisation's people: members and their roles, and e-mailed invitations (owners and
admins manage; everyone else is told who is in the organisation)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from marketplace.identity import services as identity
from marketplace.identity.models import OrgRole
from marketplace.kernel.errors import DomainError, NotFound
from marketplace.web.common import act_and_return, caller_and_org, signed_in

bp = Blueprint("org_web", __name__, url_prefix="/org")

ROLE_WORDS = {OrgRole.owner: "Owner: everything, including owners", OrgRole.admin: "Admin: members, keys, listings, orders",
              OrgRole.member: "Member: buy, download, list data", OrgRole.auditor: "Auditor: read grants and audit trails, take no data"}


@bp.get("/members")
@signed_in
def members():
    """Members with their roles (changeable by owners and admins), and open invitations."""
    p, org = caller_and_org()
    try:
        rows = identity.list_members(p, org)
    except NotFound:
        abort(404)
    try:
        invitations = identity.list_invitations(p, org)
        manage = True
    except DomainError:
        invitations, manage = [], False
    return render_template("org_members.html", rows=rows, invitations=invitations, manage=manage, roles=list(OrgRole), role_words=ROLE_WORDS,
                           org=identity.get_organization(p, org))


def _after(act: Any, done: str) -> Any:
    return act_and_return(act, done, url_for("org_web.members"))


@bp.post("/members/invite")
@signed_in
def invite():
    p, org = caller_and_org()
    email, role = request.form.get("email", "").strip(), request.form.get("role", "member")
    if role not in OrgRole.__members__:
        flash("Choose a role.", "error")
        return redirect(url_for("org_web.members"))
    return _after(lambda: identity.invite_member(p, org, email=email, role=OrgRole(role)), f"Invitation sent to {email}: the link works once, for 7 days.")


@bp.post("/members/<uuid:user_id>/role")
@signed_in
def change_role(user_id: uuid.UUID):
    p, org = caller_and_org()
    role = request.form.get("role", "")
    if role not in OrgRole.__members__:
        flash("Choose a role.", "error")
        return redirect(url_for("org_web.members"))
    return _after(lambda: identity.change_member_role(p, org, user_id, role=OrgRole(role)), "Role changed; it applies to their next request.")


@bp.post("/members/<uuid:user_id>/remove")
@signed_in
def remove(user_id: uuid.UUID):
    p, org = caller_and_org()
    return _after(lambda: identity.remove_member(p, org, user_id), "Removed: their keys for this organisation stopped working.")


@bp.post("/invitations/<uuid:invitation_id>/revoke")
@signed_in
def revoke(invitation_id: uuid.UUID):
    p, org = caller_and_org()
    return _after(lambda: identity.revoke_invitation(p, org, invitation_id), "Invitation revoked: its link no longer works.")
