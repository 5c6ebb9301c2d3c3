"""Notifications: signed webhooks (Standard Webhooks), e-mail over SMTP with per-user preferences,
and the web notification centre, all fed by the kernel's notification outbox."""
