"""Commerce: offers, orders and payments (Stripe or invoice), licence grants and quota metering."""
