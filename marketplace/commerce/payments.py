"""The payment port: checkout sessions, webhook verification and refunds.

`InvoicePayments` is the embedded default (orders are marked paid by the vendor or a platform
admin); `StripeGateway` (in its own module, the only one importing stripe) takes cards through
Stripe Checkout and pays vendors through Stripe Connect. `gateways.gateway_from_settings` picks one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from flask import current_app

from marketplace.formats.money import Money, MoneyError
from marketplace.kernel.errors import Conflict, DependencyUnavailable, ValidationFailed


class PaymentProviderError(DependencyUnavailable):
    slug = "payment-provider-error"
    title = "The payment provider failed"


class InvalidWebhook(ValidationFailed):
    slug = "invalid-webhook"
    title = "Invalid webhook"


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None  # Stripe's is null once a session has completed or expired


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: int
    data: dict[str, Any]


class PaymentGateway(ABC):
    name = "abstract"
    takes_cards = False

    @abstractmethod
    def create_checkout(self, *, order_id: str, description: str, amount_minor: int, currency: str, fee_minor: int,
                        destination_account: str | None, success_url: str, cancel_url: str) -> CheckoutSession:
        """Open a hosted checkout for one order."""

    @abstractmethod
    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        """Verify the signature and decode the event; InvalidWebhook otherwise."""

    # The largest single charge the provider accepts, in minor units (None: no limit of its own).
    max_charge_minor: int | None = None

    def check_amount(self, amount: Money) -> None:
        """MoneyError naming the limit when the provider cannot charge `amount` in one payment."""
        if self.max_charge_minor is not None and amount.minor > self.max_charge_minor:
            raise MoneyError(f"A card payment is at most {Money(self.max_charge_minor, amount.currency).format()}; pay larger orders by invoice.")


class InvoicePayments(PaymentGateway):
    """No card payments: an order is paid when the vendor or a platform admin says so."""

    name = "invoice"

    def create_checkout(self, **_: Any) -> CheckoutSession:
        raise Conflict("Card payments are not enabled on this marketplace; pay by invoice.")

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        raise InvalidWebhook("This marketplace takes no payment-provider webhooks.")


def payment_gateway() -> PaymentGateway:
    """The payment gateway the running app was wired with (invoice or Stripe)."""
    return current_app.extensions["payments"]

