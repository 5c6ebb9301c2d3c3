"""Server-rendered pages: sign-in, registration, CSRF on every form, error pages."""

from __future__ import annotations

from marketplace.kernel.db import get_session
from tests.factories import PASSWORD, make_org, make_user
from tests.web.helpers import csrf_from


def test_register_form_creates_account_and_signs_in(app, client):
    page = client.get("/register").get_data(as_text=True)
    r = client.post("/register", data={"csrf_token": csrf_from(page), "name": "Web User", "email": "web@example.test", "password": "long enough pw", "organization_name": "Web Org"})
    assert r.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "web@example.test" in home and "Web Org" in home


def test_register_form_errors_are_shown_next_to_fields(app, client):
    page = client.get("/register").get_data(as_text=True)
    r = client.post("/register", data={"csrf_token": csrf_from(page), "name": "", "email": "nope", "password": "short"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and "field-error" in html


def test_login_without_csrf_token_is_refused(app, client):
    u = make_user()
    r = client.post("/login", data={"email": u.email, "password": PASSWORD}, headers={"Accept": "text/html"})
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("text/html")


def test_login_wrong_password_and_open_redirect(app, client):
    u = make_user()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"csrf_token": token, "email": u.email, "password": "wrong password"})
    assert r.status_code == 401 and "Wrong e-mail address or password" in r.get_data(as_text=True)
    r = client.post("/login?next=//evil.example/", data={"csrf_token": token, "email": u.email, "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/workspace"  # never the other site: the user's own workspace
    assert client.get("/workspace").headers["Location"] == "/dashboard"  # a buyer (no vendor organisation) works on the dashboard


def test_org_switcher_and_logout_need_csrf(app, client):
    u = make_user()
    _o1, o2 = make_org(u, name="First Org"), make_org(u, name="Second Org")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "email": u.email, "password": PASSWORD})
    home = client.get("/").get_data(as_text=True)
    token = csrf_from(home)
    assert client.post("/switch-org", data={"org_id": str(o2.id)}).status_code == 400
    assert client.post("/switch-org", data={"org_id": str(o2.id), "csrf_token": token}).status_code == 302
    assert f'value="{o2.id}" selected' in client.get("/").get_data(as_text=True)
    assert client.post("/logout", data={}).status_code == 400
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert "Sign in" in client.get("/").get_data(as_text=True)


def test_html_error_page_for_people(client):
    r = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "<h1>404" in r.get_data(as_text=True)
    r = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert r.headers["Content-Type"] == "application/problem+json"


def test_after_sign_in_only_paths_on_this_site(app):
    """Browsers drop tabs and newlines in URLs and read a backslash as a slash: each of these
    would have sent a fresh session to another site (found from outside: a tab got through)."""
    u = make_user()
    hostile = ["//evil.example/", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/",
               "/\r\n/evil.example", " //evil.example", "javascript:alert(1)", "/\u3000/evil.example"]
    for target in hostile + ["/datasets?q=icu", "/vendor"]:
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        r = client.post("/login", query_string={"next": target}, data={"csrf_token": token, "email": u.email, "password": PASSWORD})
        assert r.status_code == 302, target
        expected = target if target in ("/datasets?q=icu", "/vendor") else "/workspace"
        assert r.headers["Location"] == expected, (target, r.headers["Location"])


def test_the_home_page_searches_browses_and_shows_new_and_most_licensed(app, client):
    from tests.delivery.helpers import buy
    from tests.factories import make_tenant_rows

    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    pub, _gid = buy(vendor, buyer)
    hidden, _g2 = buy(make_tenant_rows(vendor=True), buyer)  # licensed too, but then made a draft: never featured
    hidden.dataset.visibility = "draft"
    hidden.dataset.title = "A draft nobody may see"
    get_session().flush()
    page = client.get("/").get_data(as_text=True)
    assert 'role="search"' in page and 'action="/datasets"' in page and "Browse by domain" in page
    assert "Find data" in page and "Start selling" in page
    assert 'href="/datasets?domain=healthcare"' in page
    featured = page[page.index("Most licensed"):page.index("New datasets")]
    assert pub.dataset.title in featured and "A draft nobody may see" not in page
    # signed in: the way to the workspace, which is the vendor console for a vendor
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"csrf_token": token, "email": vendor.owner.email, "password": PASSWORD})
    assert r.headers["Location"] == "/workspace" and client.get("/workspace").headers["Location"] == "/vendor/"
    assert "Go to your workspace" in client.get("/").get_data(as_text=True)


def test_apply_to_sell_then_an_admin_approves_and_the_public_profile_lists_the_datasets(app, client):
    from tests.factories import make_key, make_org, published_version

    owner = make_user()
    org = make_org(owner, name="Fjord Speech AS")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "email": owner.email, "password": PASSWORD})
    page = client.get("/vendor/apply")
    assert page.status_code == 200 and "Sell data" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    # mistakes are named by their labels, and what was typed is kept
    r = client.post("/vendor/apply", data={"csrf_token": token, "description": "Speech corpora from Norwegian call centres, transcribed verbatim.",
                                           "country": "NO", "contact_name": "Ingrid", "contact_email": "ingrid@fjord.example",
                                           "payout_account_holder": "Fjord Speech AS", "payout_iban": "NO93 8601 1117 948"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "<strong>IBAN</strong>" in html and "check digits" in html and "Speech corpora from Norwegian" in html
    assert "payout_iban:" not in html
    r = client.post("/vendor/apply", data={"csrf_token": token, "description": "Speech corpora from Norwegian call centres, transcribed verbatim.",
                                           "country": "NO", "contact_name": "Ingrid", "contact_email": "ingrid@fjord.example", "website": "",
                                           "payout_account_holder": "Fjord Speech AS", "payout_iban": "NO93 8601 1117 947"})
    assert r.status_code == 302
    assert "a platform administrator is reviewing it" in client.get("/vendor/apply").get_data(as_text=True)
    assert client.get("/admin/vendors").status_code == 404  # not for the applicant
    # the platform admin approves from the page
    admin = make_user(platform_admin=True)
    make_key(admin, make_org(admin))
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "email": admin.email, "password": PASSWORD})
    queue = client.get("/admin/vendors").get_data(as_text=True)
    assert "Fjord Speech AS" in queue and "NO93 **** 7947" in queue and "86011117947" not in queue
    r = client.post(f"/admin/vendors/{org.id}/decision", data={"csrf_token": csrf_from(queue), "decision": "approve", "reason": "Registry checked"},
                    follow_redirects=True)
    assert "is approved" in r.get_data(as_text=True)
    # the public profile, and its listed datasets
    pub = published_version({"a.jsonl": b'{"t": 1}\n'}, organization=org, title="Bokmål call-centre speech")
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    profile = client.get(f"/vendors/{org.slug}").get_data(as_text=True)
    assert "Fjord Speech AS" in profile and "Norway" in profile and pub.dataset.title in profile and "Fjord Speech AS, NO93" not in profile
    assert client.get("/vendors/no-such-vendor").status_code == 404


def test_a_form_sent_after_the_session_ended_signs_in_and_keeps_what_was_typed(app, client):
    from tests.factories import make_tenant

    vendor = make_tenant(vendor=True)
    typed = {"title": "Ward notes, 2019–2024", "slug": "ward-notes", "summary": "Nursing notes <b>bold</b>", "domain": "healthcare",
             "csrf_token": "stale-token-from-an-old-session", "password": "never-kept"}
    here = {"Origin": "http://localhost", "Referer": "http://localhost/vendor/"}
    r = client.post("/vendor/", data=typed, headers=here)  # no session any more: the CSRF check fails
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/vendor/")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login?next=/vendor/", data={"csrf_token": token, "email": vendor.owner.email, "password": PASSWORD})
    assert r.headers["Location"] == "/vendor/"
    page = client.get("/vendor/").get_data(as_text=True)
    kept = page[page.index("data-resume=\"") + 13:page.index("\"", page.index("data-resume=\"") + 13)]
    assert "Ward notes, 2019" in kept and "&lt;b&gt;" not in page.split("data-resume")[0]  # escaped into the attribute
    assert "never-kept" not in kept and "stale-token" not in kept
    assert "data-resume" not in client.get("/vendor/").get_data(as_text=True)  # handed back once
    # from another site, or to the API: the plain refusal, nothing kept
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    r = client.post("/vendor/", data=typed, headers={"Origin": "https://evil.example", "Referer": "https://evil.example/x"})
    assert r.status_code == 400
    r = client.post("/vendor/", data=typed)  # no Origin, no Referer: cannot tell, so refused
    assert r.status_code == 400
