"""Notification endpoints: an organisation's webhook endpoints and delivery logs, the caller's
notification centre and e-mail preferences."""

from __future__ import annotations

from types import SimpleNamespace

from flask.views import MethodView

from marketplace.identity.auth import current_principal
from marketplace.kernel.http import Blueprint, problems
from marketplace.kernel.policy import requires
from marketplace.notifications import schemas as s
from marketplace.notifications.policy import NotificationPermission as Perm
from marketplace.notifications.services import centre, endpoints

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="Webhooks, the notification centre and e-mail preferences")


def _with_secret(pair):
    """The endpoint with its secret beside it, for the one answer that shows the secret."""
    ep, secret = pair
    return SimpleNamespace(**{name: getattr(ep, name) for name in s.EndpointSchema().fields}, secret=secret)


@blp.route("/orgs/<uuid:org_id>/webhooks")
class Endpoints(MethodView):
    @blp.response(200, s.EndpointSchema(many=True))
    @problems(blp, 401, 403, 404)
    def get(self, org_id):
        """The organisation's webhook endpoints (never their secrets)."""
        return endpoints.list_endpoints(current_principal(), org_id)

    @requires(Perm.ENDPOINT_MANAGE)
    @blp.arguments(s.EndpointCreateSchema)
    @blp.response(201, s.EndpointWithSecretSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, org_id):
        """Register an endpoint. Its signing secret is in this answer only: store it. Messages
        carry `webhook-id`, `webhook-timestamp` and `webhook-signature` (Standard Webhooks)."""
        return _with_secret(endpoints.create_endpoint(current_principal(), org_id, **data))


@blp.route("/webhooks/<uuid:endpoint_id>")
class Endpoint(MethodView):
    @blp.response(200, s.EndpointSchema)
    @problems(blp, 401, 403, 404)
    def get(self, endpoint_id):
        """One endpoint."""
        return endpoints.get_endpoint(current_principal(), endpoint_id)

    @requires(Perm.ENDPOINT_MANAGE)
    @blp.arguments(s.EndpointUpdateSchema)
    @blp.response(200, s.EndpointSchema)
    @problems(blp, 400, 401, 403, 404)
    def patch(self, data, endpoint_id):
        """Change the URL, description or event types, or disable / enable the endpoint."""
        return endpoints.update_endpoint(current_principal(), endpoint_id, **data)

    @requires(Perm.ENDPOINT_MANAGE)
    @blp.response(204)
    @problems(blp, 401, 403, 404)
    def delete(self, endpoint_id):
        """Delete the endpoint and its delivery log."""
        endpoints.delete_endpoint(current_principal(), endpoint_id)


@blp.route("/webhooks/<uuid:endpoint_id>/rotate-secret")
class Rotate(MethodView):
    @requires(Perm.ENDPOINT_MANAGE)
    @blp.response(200, s.EndpointWithSecretSchema)
    @problems(blp, 401, 403, 404)
    def post(self, endpoint_id):
        """A new signing secret, shown once. Until `previous_secret_until` every message is
        signed with both secrets, so the receiver can switch without missing one."""
        return _with_secret(endpoints.rotate_secret(current_principal(), endpoint_id))


@blp.route("/webhooks/<uuid:endpoint_id>/test")
class Test(MethodView):
    @requires(Perm.ENDPOINT_MANAGE)
    @blp.response(200, s.AttemptSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, endpoint_id):
        """Send a `webhook.test` message now and answer with what the receiver said."""
        return endpoints.send_test(current_principal(), endpoint_id)


@blp.route("/webhooks/<uuid:endpoint_id>/deliveries")
class Deliveries(MethodView):
    @blp.arguments(s.DeliveryQuerySchema, location="query")
    @blp.response(200, s.DeliverySchema(many=True))
    @problems(blp, 400, 401, 403, 404)
    def get(self, args, endpoint_id):
        """The delivery log, newest first: every message with its attempts, status codes and
        response times, and when the next retry is due."""
        return endpoints.deliveries(current_principal(), endpoint_id, **args)


@blp.route("/webhooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/redeliver")
class Redeliver(MethodView):
    @requires(Perm.ENDPOINT_MANAGE)
    @blp.response(200, s.AttemptSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, endpoint_id, delivery_id):
        """Send one message again now, with the same `webhook-id`."""
        return endpoints.redeliver(current_principal(), endpoint_id, delivery_id)


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(s.NotificationQuerySchema, location="query")
    @blp.response(200, s.NotificationPageSchema)
    @problems(blp, 400, 401, 403)
    def get(self, args):
        """Your notifications, newest first, and how many are unread."""
        return centre.list_notifications(current_principal(), **args)


@blp.route("/notifications/read")
class MarkRead(MethodView):
    @requires(Perm.CENTRE)
    @blp.arguments(s.MarkReadSchema)
    @blp.response(200, s.MarkedSchema)
    @problems(blp, 400, 401, 403, 404)
    def post(self, data):
        """Mark notifications read: the ids given, or all of them with `all: true`."""
        p = current_principal()
        marked = centre.mark_read(p, ids=data["ids"], everything=data["all"])
        return {"marked": marked, "unread": centre.unread_count(p)}


@blp.route("/notifications/preferences")
class Preferences(MethodView):
    @blp.response(200, s.PreferenceSchema(many=True))
    @problems(blp, 401, 403)
    def get(self):
        """Your e-mail choice per event type: instant, digest (one e-mail a day) or off. The
        notification centre always shows everything."""
        return centre.preferences(current_principal())

    @requires(Perm.PREFERENCES)
    @blp.arguments(s.PreferencesUpdateSchema)
    @blp.response(200, s.PreferenceSchema(many=True))
    @problems(blp, 400, 401, 403)
    def put(self, data):
        """Set your e-mail choice for the event types given (the others stay as they are)."""
        return centre.set_preferences(current_principal(), data["preferences"])
