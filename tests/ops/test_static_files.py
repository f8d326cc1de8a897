"""Static files under hashed names with a year's lifetime, and API docs with nothing from a CDN."""

from __future__ import annotations

import re

from django.templatetags.static import static

from tests.factories import UserFactory
from tests.helpers import real_db

pytestmark = real_db


def test_a_page_names_its_static_files_by_their_hash(client):
    page = client.get("/login/").content.decode()
    assert re.search(r'src="/static/js/common\.[0-9a-f]{12}\.js"', page)


def test_a_hashed_static_file_is_served_as_immutable_for_a_year(client):
    response = client.get(static("js/common.js"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"


def test_the_api_docs_load_every_file_from_this_server(client):
    client.force_login(UserFactory())
    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources, page
    assert [s for s in sources if not s.startswith("/")] == []
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in s for s in sources)


def test_pages_carry_a_content_security_policy_without_inline_scripts(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
