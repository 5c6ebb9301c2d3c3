"""The e-mail port and its adapters: SMTP through the standard library, and a log mailer for the
embedded default (`make run` prints every e-mail to the log instead of sending it).

Configured by `MARKETPLACE_SMTP_URL`: `smtp://user:password@host:587?starttls=1`, or
`smtps://host:465` for TLS from the start; empty: the log mailer.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str | None = None


class MailDeliveryFailed(Exception):
    """The mail server refused the message or could not be reached."""


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


def mime(mail: Mail, sender: str) -> MimeMessage:
    """A multipart/alternative message (plain text first, HTML second), with one-click
    unsubscribe headers (RFC 8058) when the e-mail is one a user may stop."""
    msg = MimeMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">") or None)
    if mail.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


class SmtpMailer:
    """Sends through an SMTP server with smtplib (one connection per message: notifications are
    few, and a long-lived connection would need its own health checks)."""

    def __init__(self, url: str, sender: str, *, timeout: float = 15.0):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("MARKETPLACE_SMTP_URL must look like smtp://user:password@host:587?starttls=1 or smtps://host:465")
        self.host, self.tls = parts.hostname, parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.sender, self.timeout = sender, timeout

    def send(self, mail: Mail) -> None:
        try:
            smtp: smtplib.SMTP = (smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()) if self.tls
                                  else smtplib.SMTP(self.host, self.port, timeout=self.timeout))
            with smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mime(mail, self.sender))
        except (smtplib.SMTPException, OSError) as e:
            raise MailDeliveryFailed(f"{type(e).__name__}: {e}"[:500]) from None


class LogMailer:
    """The embedded default: every e-mail goes to the log (and stays in the outbox table)."""

    def __init__(self, sender: str):
        self.sender = sender

    def send(self, mail: Mail) -> None:
        log.info("e-mail (not sent: MARKETPLACE_SMTP_URL is not set)\nTo: %s\nSubject: %s\n\n%s", mail.to, mail.subject, mail.text)


def mailer_from_settings(smtp_url: str, sender: str) -> Mailer:
    return SmtpMailer(smtp_url, sender) if smtp_url else LogMailer(sender)


def mailer() -> Mailer:
    """The mailer the running app was wired with (SMTP, or the log)."""
    mailer: Mailer = current_app.extensions["mailer"]
    return mailer
