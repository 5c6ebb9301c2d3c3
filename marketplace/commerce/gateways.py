"""The payment gateway a configuration names: invoices (the embedded default) or Stripe.

Apart from the port (`payments`) and its adapters, so the port never imports an adapter."""

from __future__ import annotations

from typing import Any

from marketplace.commerce.payments import InvoicePayments, PaymentGateway


def gateway_from_settings(settings: Any) -> PaymentGateway:
    if settings.payments == "stripe":
        from marketplace.commerce.stripe_gateway import StripeGateway  # deferred: stripe is heavy and only payments=stripe needs it

        return StripeGateway(api_key=settings.stripe_api_key, webhook_secret=settings.stripe_webhook_secret, api_base=settings.stripe_api_base or None)
    return InvoicePayments()
