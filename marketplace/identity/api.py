"""Identity endpoints: register, log in, organisations, members, API keys, vendor approval.

Views parse, make one service call with the caller's principal, and dump the result.
"""

from __future__ import annotations

import uuid

from flask import g, request, session
from flask.views import MethodView
from flask_wtf.csrf import generate_csrf

from marketplace.identity import schemas as s
from marketplace.identity import services
from marketplace.identity.auth import current_principal
from marketplace.identity.models import ApiKey
from marketplace.identity.policy import IdentityPermission
from marketplace.kernel.http import Blueprint, anonymous_principal, problems
from marketplace.kernel.policy import requires
from marketplace.kernel.principal import SCOPES

blp = Blueprint("identity", __name__, url_prefix="/api/v1", description="Users, organisations, members and API keys")


def start_browser_session(user_id: uuid.UUID) -> str:
    """Log the user in on this browser; returns the CSRF token for the new session."""
    # A fresh session on login (no fixation); its CSRF secret is new too, so drop a token that
    # flask-wtf may have cached for this request under the old session.
    token = services.open_browser_session(anonymous_principal(), user_id, user_agent=request.headers.get("User-Agent"),
                                          replaces=session.get("sid") if isinstance(session.get("sid"), str) else None)
    session.clear()
    g.pop("csrf_token", None)
    session["user_id"] = str(user_id)
    session["sid"] = token
    session.permanent = True
    return generate_csrf()


def end_browser_session() -> None:
    """Log this browser out, on the server first (the cookie alone proves nothing afterwards)."""
    services.end_browser_session(current_principal())
    session.clear()


@blp.route("/auth/register")
class Register(MethodView):
    @blp.arguments(s.RegisterSchema)
    @blp.response(201, s.UserSchema)
    @problems(blp, 409, 413, 415)
    def post(self, data):
        """Create an account (and optionally an organisation it owns)."""
        return services.register_user(anonymous_principal(), **data)


@blp.route("/auth/login")
class Login(MethodView):
    @blp.arguments(s.LoginSchema)
    @blp.response(200, s.LoginResultSchema)
    @problems(blp, 401, 413, 415, 429)
    def post(self, data):
        """Log in with e-mail and password; sets the session cookie and returns a CSRF token."""
        user = services.authenticate(anonymous_principal(), **data)
        return {"user": user, "csrf_token": start_browser_session(user.id)}


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.response(204)
    @problems(blp, 400)
    def post(self):
        """End the browser session, on the server: a copy of its cookie stops working too."""
        end_browser_session()


@blp.route("/auth/scopes")
class Scopes(MethodView):
    @blp.response(200, s.ScopeListSchema)
    def get(self):
        """The scopes an API key can carry."""
        return {"scopes": SCOPES}


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, s.MeSchema)
    @problems(blp, 401)
    def get(self):
        """The caller: user, organisations with roles, and the API key in use."""
        p = current_principal()
        user, memberships = services.describe_caller(p)
        orgs = [dict(_org_dict(o), role=role) for o, role in memberships]
        key = None
        if p.api_key_id:
            key = {"id": str(p.api_key_id), "organization_id": str(p.key_org_id), "scopes": sorted(p.scopes or [])}
        return {"user": user, "organizations": orgs, "api_key": key, "csrf_token": None if key else generate_csrf()}


def _org_dict(o):
    return {"id": o.id, "slug": o.slug, "name": o.name, "vendor_status": o.vendor_status, "created_at": o.created_at}


@blp.route("/orgs")
class Orgs(MethodView):
    @blp.response(200, s.MyOrganizationSchema(many=True))
    @problems(blp, 401)
    def get(self):
        """Organisations the caller belongs to."""
        return [dict(_org_dict(o), role=role) for o, role in services.list_my_organizations(current_principal())]

    @requires(IdentityPermission.ORG_CREATE)
    @blp.arguments(s.OrganizationCreateSchema)
    @blp.response(201, s.OrganizationSchema)
    @problems(blp, 401, 403, 409)
    def post(self, data):
        """Create an organisation; you become its owner."""
        return services.create_organization(current_principal(), **data)


@blp.route("/orgs/<uuid:org_id>")
class Org(MethodView):
    @blp.response(200, s.OrganizationSchema)
    @problems(blp, 401, 404)
    def get(self, org_id):
        """One organisation you belong to."""
        return services.get_organization(current_principal(), org_id)

    @requires(IdentityPermission.ORG_UPDATE)
    @blp.arguments(s.OrganizationUpdateSchema)
    @blp.response(200, s.OrganizationSchema)
    @problems(blp, 401, 403, 404)
    def patch(self, data, org_id):
        """Rename the organisation (admin)."""
        return services.update_organization(current_principal(), org_id, **data)


def _member_dict(m, u):
    return {"user_id": u.id, "email": u.email, "name": u.name, "role": m.role, "joined_at": m.created_at}


@blp.route("/orgs/<uuid:org_id>/members")
class Members(MethodView):
    @blp.response(200, s.MemberSchema(many=True))
    @problems(blp, 401, 404)
    def get(self, org_id):
        """Members and their roles."""
        return [_member_dict(m, u) for m, u in services.list_members(current_principal(), org_id)]

    @requires(IdentityPermission.MEMBER_MANAGE)
    @blp.arguments(s.MemberAddSchema)
    @blp.response(201, s.MemberSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, org_id):
        """Add a registered user by e-mail (admin; only owners add owners)."""
        return _member_dict(*services.add_member(current_principal(), org_id, **data))


@blp.route("/orgs/<uuid:org_id>/members/<uuid:user_id>")
class Member(MethodView):
    @requires(IdentityPermission.MEMBER_MANAGE)
    @blp.arguments(s.MemberRoleSchema)
    @blp.response(200, s.MemberSchema)
    @problems(blp, 401, 403, 404, 409)
    def patch(self, data, org_id, user_id):
        """Change a member's role; the last owner cannot be demoted."""
        return _member_dict(*services.change_member_role(current_principal(), org_id, user_id, **data))

    @requires(IdentityPermission.MEMBER_MANAGE)
    @blp.response(204)
    @problems(blp, 401, 403, 404, 409)
    def delete(self, org_id, user_id):
        """Remove a member; the last owner cannot be removed."""
        services.remove_member(current_principal(), org_id, user_id)


@blp.route("/orgs/<uuid:org_id>/api-keys")
class ApiKeys(MethodView):
    @blp.response(200, s.ApiKeySchema(many=True))
    @problems(blp, 401, 403, 404)
    def get(self, org_id):
        """The organisation's API keys (prefixes only; secrets are never shown again)."""
        return services.list_api_keys(current_principal(), org_id)

    @requires(IdentityPermission.API_KEY_CREATE)
    @blp.arguments(s.ApiKeyCreateSchema)
    @blp.response(201, s.ApiKeyCreatedSchema)
    @problems(blp, 401, 403, 404)
    def post(self, data, org_id):
        """Create an API key acting for you in this organisation. The secret is in this response only."""
        key, secret = services.create_api_key(current_principal(), org_id, **data)
        return _key_with_secret(key, secret)


def _key_with_secret(key: ApiKey, secret: str) -> dict:
    out = {c: getattr(key, c) for c in ("id", "name", "prefix", "scopes", "user_id", "created_at", "expires_at", "revoked_at", "last_used_at")}
    out["secret"] = secret
    return out


@blp.route("/orgs/<uuid:org_id>/api-keys/<uuid:key_id>")
class ApiKeyItem(MethodView):
    @requires(IdentityPermission.API_KEY_REVOKE_ANY)
    @blp.response(200, s.ApiKeySchema)
    @problems(blp, 401, 403, 404)
    def delete(self, org_id, key_id):
        """Revoke a key. It stops working at once."""
        return services.revoke_api_key(current_principal(), org_id, key_id)


@blp.route("/orgs/<uuid:org_id>/invitations")
class Invitations(MethodView):
    @blp.response(200, s.InvitationSchema(many=True))
    @problems(blp, 401, 403, 404)
    def get(self, org_id):
        """Open invitations (owners and admins)."""
        return services.list_invitations(current_principal(), org_id)

    @requires(IdentityPermission.MEMBER_MANAGE)
    @blp.arguments(s.MemberAddSchema)
    @blp.response(201, s.InvitationSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, org_id):
        """Invite someone by e-mail to join with a role: the address gets a link that works once,
        for 7 days, for whoever signs in with that address (owners and admins; only owners invite
        owners). A new invitation to the same address replaces the open one."""
        return services.invite_member(current_principal(), org_id, **data)[0]


@blp.route("/orgs/<uuid:org_id>/invitations/<uuid:invitation_id>")
class InvitationItem(MethodView):
    @requires(IdentityPermission.MEMBER_MANAGE)
    @blp.response(200, s.InvitationSchema)
    @problems(blp, 401, 403, 404, 409)
    def delete(self, org_id, invitation_id):
        """Revoke an invitation: its link stops working at once."""
        return services.revoke_invitation(current_principal(), org_id, invitation_id)


@blp.route("/invitations/accept")
class InvitationAccept(MethodView):
    @blp.arguments(s.InvitationAcceptSchema)
    @blp.response(200, s.JoinedSchema)
    @problems(blp, 400, 401, 403, 404, 409, 410)
    def post(self, data):
        """Join the organisation an invitation names, as the signed-in user it was sent to (404:
        unknown or revoked link; 410: already accepted or expired; 403: another address)."""
        m, org = services.accept_invitation(current_principal(), data["token"])
        return {"organization_id": org.id, "organization_name": org.name, "role": m.role}


@blp.route("/orgs/<uuid:org_id>/vendor-application")
class VendorApplication(MethodView):
    @requires(IdentityPermission.VENDOR_APPLY)
    @blp.arguments(s.VendorApplicationSchema)
    @blp.response(200, s.OrganizationSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, org_id):
        """Apply for this organisation to sell data (owners and admins): its public profile, a
        contact and payout details. A platform admin approves or rejects; a pending or rejected
        application can be sent again."""
        return services.apply_as_vendor(current_principal(), org_id, **data)


@blp.route("/vendors/<string:slug>")
class VendorProfile(MethodView):
    @blp.response(200, s.VendorProfileSchema)
    @problems(blp, 404)
    def get(self, slug):
        """An approved vendor's public profile (its datasets: GET /datasets?vendor={id})."""
        return services.vendor_profile(slug)


@blp.route("/admin/orgs")
class AdminOrgs(MethodView):
    @blp.arguments(s.AdminOrgQuerySchema, location="query")
    @blp.response(200, s.AdminOrganizationSchema(many=True))
    @problems(blp, 401, 403)
    def get(self, args):
        """All organisations, optionally by vendor status (platform admin)."""
        return services.list_organizations_admin(current_principal(), **args)


@blp.route("/admin/orgs/<uuid:org_id>/vendor-decision")
class VendorDecision(MethodView):
    @requires(IdentityPermission.VENDOR_DECIDE)
    @blp.arguments(s.VendorDecisionSchema)
    @blp.response(200, s.OrganizationSchema)
    @problems(blp, 401, 403, 404)
    def post(self, data, org_id):
        """Approve or reject a vendor organisation (platform admin)."""
        return services.decide_vendor(current_principal(), org_id, **data)


@blp.route("/me/password")
class Password(MethodView):
    @blp.arguments(s.PasswordChangeSchema)
    @blp.response(204)
    @problems(blp, 400, 401, 403)
    def post(self, data):
        """Change your password. Every browser session of yours ends, this one too: sign in again."""
        services.change_password(current_principal(), **data)
        session.clear()


@blp.route("/me/sessions")
class MySessions(MethodView):
    @blp.response(200, s.BrowserSessionSchema(many=True))
    @problems(blp, 401)
    def get(self):
        """Your signed-in browsers (the cookie tokens are never shown)."""
        p = current_principal()
        return [dict(id=r.id, created_at=r.created_at, last_seen_at=r.last_seen_at, ip=r.ip, user_agent=r.user_agent, current=r.id == p.session_id)
                for r in services.list_browser_sessions(p)]


@blp.route("/me/sessions/revoke-all")
class SignOutEverywhere(MethodView):
    @blp.response(200, s.SessionsEndedSchema)
    @problems(blp, 401)
    def post(self):
        """Sign out everywhere: every browser session of yours ends at once, this one included."""
        n = services.sign_out_everywhere(current_principal())
        session.clear()
        return {"ended": n}


@blp.route("/admin/users/<uuid:user_id>/sessions/revoke-all")
class AdminSignOut(MethodView):
    @requires(IdentityPermission.PLATFORM_SESSIONS)
    @blp.response(200, s.SessionsEndedSchema)
    @problems(blp, 401, 403, 404)
    def post(self, user_id):
        """End every browser session of a user (platform admin), e.g. for a compromised account."""
        return {"ended": services.sign_out_everywhere(current_principal(), user_id)}
