"""Commerce endpoints: offers, orders (Idempotency-Key), invoice payment, the Stripe webhook,
grants with their quota ledger."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from marketplace.commerce import schemas as s
from marketplace.commerce import services as svc
from marketplace.commerce.policy import CommercePermission
from marketplace.identity.auth import current_principal
from marketplace.kernel.http import Blueprint, problems, raw_body
from marketplace.kernel.policy import requires

blp = Blueprint("commerce", __name__, url_prefix="/api/v1", description="Offers, orders, payments, grants and quota")


@blp.route("/datasets/<uuid:dataset_id>/offers")
class Offers(MethodView):
    @blp.response(200, s.OfferSchema(many=True))
    @problems(blp, 404)
    def get(self, dataset_id):
        """The offers you can see for a dataset (with the licence digest to accept)."""
        return svc.offer_views_for_dataset(current_principal(), dataset_id)

    @requires(CommercePermission.OFFER_CREATE)
    @blp.arguments(s.OfferCreateSchema)
    @blp.response(201, s.OfferSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, data, dataset_id):
        """Put a dataset on sale under a licence the lineage allows (409 with findings otherwise)."""
        return svc.create_offer_view(current_principal(), dataset_id, **data)


@blp.route("/offers/<uuid:offer_id>")
class OfferItem(MethodView):
    @blp.response(200, s.OfferSchema)
    @problems(blp, 404)
    def get(self, offer_id):
        """One offer."""
        return svc.offer_view(current_principal(), offer_id)

    @requires(CommercePermission.OFFER_UPDATE)
    @blp.arguments(s.OfferUpdateSchema)
    @blp.response(200, s.OfferSchema)
    @problems(blp, 401, 403, 404)
    def patch(self, data, offer_id):
        """Activate or deactivate an offer (existing grants are not affected)."""
        return svc.update_offer_view(current_principal(), offer_id, **data)


@blp.route("/orders")
class Orders(MethodView):
    @requires(CommercePermission.ORDER_PLACE)
    @blp.arguments(s.IdempotencyHeaderSchema, location="headers")
    @blp.arguments(s.OrderCreateSchema)
    @blp.response(201, s.OrderSchema)
    @blp.alt_response(200, schema=s.OrderSchema, description="A replay of an Idempotency-Key: the order it first placed")
    @problems(blp, 401, 403, 404, 409, 503)
    def post(self, headers, data):
        """Order an offer, accepting its licence text by SHA-256. Repeat with the same
        Idempotency-Key to get the same order back. Card orders carry a checkout_url."""
        order, created = svc.create_order(current_principal(), idempotency_key=headers.get("idempotency_key"), **data)
        return order, 201 if created else 200


@blp.route("/orders/<uuid:order_id>")
class OrderItem(MethodView):
    @blp.response(200, s.OrderSchema)
    @problems(blp, 401, 404)
    def get(self, order_id):
        """One order (buyer, vendor or platform admin)."""
        return svc.get_order(current_principal(), order_id)


@blp.route("/orders/<uuid:order_id>/mark-paid")
class MarkPaid(MethodView):
    @requires(CommercePermission.ORDER_MARK_PAID)
    @blp.response(200, s.OrderSchema)
    @problems(blp, 401, 403, 404, 409)
    def post(self, order_id):
        """Invoice orders: record payment (vendor admin or platform admin); the grant follows."""
        return svc.mark_paid(current_principal(), order_id)


@blp.route("/orders/<uuid:order_id>/cancel")
class CancelOrder(MethodView):
    @requires(CommercePermission.ORDER_CANCEL)
    @blp.arguments(s.OrderCancelSchema, required=False)
    @blp.response(200, s.OrderSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, order_id):
        """The buyer cancels an unpaid invoice order (a member of the buying organisation)."""
        return svc.cancel_order(current_principal(), order_id, **data)


@blp.route("/orders/<uuid:order_id>/reject")
class RejectOrder(MethodView):
    @requires(CommercePermission.ORDER_REJECT)
    @blp.arguments(s.OrderRejectSchema)
    @blp.response(200, s.OrderSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, order_id):
        """The vendor declines an unpaid invoice order, with a reason the buyer sees (vendor admin)."""
        return svc.reject_order(current_principal(), order_id, **data)


@blp.route("/orgs/<uuid:org_id>/orders")
class OrgOrders(MethodView):
    @blp.response(200, s.OrderSchema(many=True))
    @problems(blp, 401, 404)
    def get(self, org_id):
        """Orders placed by the organisation."""
        return svc.list_orders(current_principal(), org_id, as_vendor=False)


@blp.route("/orgs/<uuid:org_id>/sales")
class OrgSales(MethodView):
    @blp.response(200, s.OrderSchema(many=True))
    @problems(blp, 401, 404)
    def get(self, org_id):
        """Orders for the organisation's datasets."""
        return svc.list_orders(current_principal(), org_id, as_vendor=True)


@blp.route("/orgs/<uuid:org_id>/grants")
class OrgGrants(MethodView):
    @blp.response(200, s.GrantSchema(many=True))
    @problems(blp, 401, 404)
    def get(self, org_id):
        """The organisation's licence grants with quota balances and their datasets' titles."""
        return svc.list_grants_titled(current_principal(), org_id)


@blp.route("/grants/<uuid:grant_id>")
class GrantItem(MethodView):
    @blp.response(200, s.GrantDetailSchema)
    @problems(blp, 401, 404)
    def get(self, grant_id):
        """A grant with its quota ledger (buyer or vendor)."""
        return svc.grant_view(current_principal(), grant_id)


@blp.route("/grants/<uuid:grant_id>/follow-latest")
class FollowLatest(MethodView):
    @requires(CommercePermission.GRANT_ACCEPT_TERMS)
    @blp.arguments(s.FollowLatestSchema)
    @blp.response(200, s.GrantSchema)
    @problems(blp, 400, 401, 403, 404, 409)
    def post(self, data, grant_id):
        """A grant for the latest version that a newer version's terms held back: accept the
        model-output terms it comes under (by SHA-256) and follow it again. A version the grant's
        licence does not allow cannot be followed (409, with the findings)."""
        return svc.follow_latest(current_principal(), grant_id, **data)


@blp.route("/versions/<uuid:version_id>/holders")
class Holders(MethodView):
    @blp.response(200, s.GrantSchema(many=True))
    @problems(blp, 401, 404)
    def get(self, version_id):
        """Grants holding a version (the vendor's view, e.g. after a withdrawal)."""
        return svc.version_holders(current_principal(), version_id)


@blp.route("/orgs/<uuid:org_id>/payout-account")
class PayoutAccount(MethodView):
    @requires(CommercePermission.PAYOUT_ACCOUNT_SET)
    @blp.arguments(s.PayoutAccountSchema)
    @blp.response(204)
    @problems(blp, 401, 403, 404)
    def put(self, data, org_id):
        """Name the Stripe Connect account that receives the vendor's payouts (owner)."""
        svc.set_payout_account(current_principal(), org_id, **data)


@blp.route("/payments/stripe/webhook")
class StripeWebhook(MethodView):
    @raw_body
    @blp.response(200, s.WebhookResultSchema)
    @problems(blp, 400)
    @blp.doc(security=[], requestBody={"content": {"application/json": {"schema": {"type": "object"}}}, "required": True})
    def post(self):
        """Stripe events (signed). Each event id is applied once; stale events change nothing."""
        return svc.handle_webhook(request.get_data(cache=False), request.headers.get("Stripe-Signature"))
