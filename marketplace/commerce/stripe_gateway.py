"""Stripe adapter: Checkout sessions with Connect destination charges, signed webhooks.
The only module that imports stripe; its errors become PaymentProviderError / InvalidWebhook."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import stripe

from marketplace.commerce.payments import CheckoutSession, InvalidWebhook, PaymentGateway, PaymentProviderError, WebhookEvent

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams


class StripeGateway(PaymentGateway):
    name = "stripe"
    takes_cards = True
    # Stripe's own ceiling for one charge: eight digits of minor units.
    max_charge_minor = 99_999_999

    def __init__(self, *, api_key: str, webhook_secret: str, api_base: str | None = None):
        if not api_key or not webhook_secret:
            raise ValueError("payments=stripe needs STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET")
        self.webhook_secret = webhook_secret
        kwargs: dict[str, Any] = {"base_addresses": {"api": api_base}} if api_base else {}
        # Retries are safe: every create carries an idempotency key.
        self.client = stripe.StripeClient(api_key, max_network_retries=2, **kwargs)

    def create_checkout(self, *, order_id: str, description: str, amount_minor: int, currency: str, fee_minor: int,
                        destination_account: str | None, success_url: str, cancel_url: str) -> CheckoutSession:
        params: SessionCreateParams = {
            "mode": "payment",
            "client_reference_id": order_id,
            "metadata": {"order_id": order_id},
            "line_items": [{"quantity": 1, "price_data": {"currency": currency.lower(), "unit_amount": amount_minor, "product_data": {"name": description[:250]}}}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "payment_intent_data": {"metadata": {"order_id": order_id}},
        }
        if destination_account:
            params["payment_intent_data"].update({"application_fee_amount": fee_minor, "transfer_data": {"destination": destination_account}})
        try:
            s = self.client.v1.checkout.sessions.create(params=params, options={"idempotency_key": f"checkout-{order_id}"})
        except stripe.StripeError as e:
            raise PaymentProviderError(f"Stripe refused or failed to open the checkout ({type(e).__name__}); nothing was charged.") from None
        return CheckoutSession(id=s.id, url=s.url)

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        try:
            event = stripe.Webhook.construct_event(payload, signature or "", self.webhook_secret)
        except stripe.SignatureVerificationError:
            raise InvalidWebhook("The Stripe-Signature header does not verify.") from None
        except ValueError:
            raise InvalidWebhook("The webhook body is not a Stripe event.") from None
        raw = json.loads(payload)
        return WebhookEvent(id=event.id, type=event.type, created=int(raw.get("created", 0)), data=raw.get("data", {}).get("object", {}))
