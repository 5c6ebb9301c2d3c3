"""The operator commands, run as an operator would (against a real database file)."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

import migrations
from marketplace.app.cli import main


def run(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_operator_commands(tmp_path):
    env = {"MARKETPLACE_INSTANCE_PATH": str(tmp_path), "MARKETPLACE_LOG_LEVEL": "WARNING"}
    migrations.upgrade(f"sqlite:///{tmp_path / 'marketplace.db'}")
    from marketplace.app import create_app
    from marketplace.kernel.config import Settings

    app = create_app(Settings.from_env(env))
    with app.app_context():
        from tests.factories import make_user

        u = make_user(email="ops@example.test")
    r = run(env, "users", "set-platform-role", "ops@example.test", "admin")
    assert r.exit_code == 0 and "admin" in r.output
    with app.app_context():
        from marketplace.identity.models import User
        from marketplace.kernel.db import get_session

        assert get_session().get(User, u.id).is_platform_admin
    r = CliRunner().invoke(main, ["users", "set-platform-role", "nobody@example.test", "admin"], env=env)
    assert r.exit_code != 0
    assert run(env, "jobs", "expire-grants").output.startswith("expired 0")
    assert run(env, "jobs", "abort-stale-uploads").output.startswith("aborted 0")
    assert run(env, "jobs", "warn-expiring-grants").output.startswith("warned about 0")
    assert run(env, "jobs", "warn-overdue-access").output.startswith("warned about 0")
    assert run(env, "jobs", "send-digests").output.startswith("sent 0")
    assert run(env, "jobs", "notify").output.startswith("dispatched: 0, webhook attempts: 0")
    assert run(env, "search", "reindex").output.startswith("reindexed 0")


def test_expire_grants_job(app, client):
    from marketplace.commerce.models import Grant
    from marketplace.commerce.services import expire_grants
    from marketplace.kernel.db import get_session, unit_of_work, utcnow
    from tests.commerce.helpers import market, offer_for, order
    from tests.factories import bearer

    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], term_days=30)
    o = order(client, buyer.keys["owner"], offer, quantity=5).json
    gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"]
    import uuid

    with unit_of_work():
        get_session().get(Grant, uuid.UUID(gid)).expires_at = utcnow() - timedelta(minutes=1)
    assert expire_grants() >= 1
    assert client.get(f"/api/v1/grants/{gid}", headers=bearer(buyer.keys["owner"])).json["status"] == "expired"
    # a new order revives the grant for a fresh term
    o2 = order(client, buyer.keys["owner"], offer, quantity=1).json
    client.post(f"/api/v1/orders/{o2['id']}/mark-paid", headers=bearer(vendor.keys["owner"]))
    g = client.get(f"/api/v1/grants/{gid}", headers=bearer(buyer.keys["owner"])).json
    assert g["status"] == "active" and g["balance"] == 6
