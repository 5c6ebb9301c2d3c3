"""How notifications plug into the application: the API blueprint, the mailer port, and the jobs
(registered by importing the module that defines them)."""

from __future__ import annotations

from flask import Flask

from marketplace.kernel import events
from marketplace.kernel.http import Api
from marketplace.notifications.api import blp
from marketplace.notifications.services import dispatch


def init_app(app: Flask, api: Api) -> None:
    """Register the endpoints and the jobs (the mailer port is wired by the factory)."""
    api.register_blueprint(blp)
    events.subscribe(events.MEMBER_INVITED, dispatch.on_member_invited)
    app.extensions["notification_jobs"] = (dispatch.DISPATCH_JOB, dispatch.DELIVER_JOB, dispatch.EMAIL_JOB)
