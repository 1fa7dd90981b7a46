"""How the pages and the API go over the wire: compressed text, versioned static URLs cached
for a year, pages and API answers revalidated, and each page's modules preloaded (without
ethers on the pages that neither sign nor read the chain)."""

import gzip
import json
import re
import shutil

import pytest
from fastapi.testclient import TestClient

from backend.frontend import IMMUTABLE
from backend.main import create_app

GZIP = {"Accept-Encoding": "gzip"}


def raw_get(client, url, **headers):
    """The response as sent: httpx would decode the body and hide its encoding."""
    with client.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def import_map(html: str) -> dict:
    found = re.search(r'<script type="importmap">(.*?)</script>', html)
    assert found, html[:400]
    return json.loads(found.group(1))["imports"]


def preloads(html: str) -> list[str]:
    return re.findall(r'<link rel="modulepreload" href="([^"]+)">', html)


def test_gzip__json_and_javascript_are_compressed(client):
    response, body = raw_get(client, "/api/chain/deployment", **GZIP)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(body))["contracts"]["OtcEscrow"]

    response, body = raw_get(client, "/js/api.js", **GZIP)
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"].startswith("text/javascript")
    plain = gzip.decompress(body)
    assert b"export async function api" in plain
    assert len(body) < len(plain) / 2


def test_gzip__not_for_a_client_that_does_not_accept_it(client):
    response, body = raw_get(client, "/js/api.js", **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert b"export async function api" in body


def test_cache__versioned_module_is_immutable_unversioned_revalidated(client):
    page = client.get("/")
    versioned = import_map(page.text)["./js/api.js"]
    assert re.fullmatch(r"\./js/api\.js\?v=[0-9a-f]{12}", versioned)

    fresh = client.get(versioned.removeprefix("."))
    assert fresh.headers["cache-control"] == IMMUTABLE
    assert "export async function api" in fresh.text
    assert client.get("/js/api.js").headers["cache-control"] == "no-cache"
    # A page from before a deploy asks for the old version: it gets today's file, not pinned.
    assert client.get("/js/api.js?v=000000000000").headers["cache-control"] == "no-cache"


def test_cache__stylesheet_and_logo_urls_carry_their_version(client):
    html = client.get("/explorer.html").text
    css = re.search(r'href="(css/app\.css\?v=[0-9a-f]{12})"', html)
    logo = re.search(r'href="(img/logo\.svg\?v=[0-9a-f]{12})"', html)
    assert css and logo, html[:600]
    assert client.get(f"/{css.group(1)}").headers["cache-control"] == IMMUTABLE
    assert client.get(f"/{logo.group(1)}").headers["cache-control"] == IMMUTABLE


def test_cache__pages_and_api_are_revalidated(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    assert client.get("/", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
    assert client.get("/orders.html").headers["cache-control"] == "no-cache"
    assert client.get("/api/ads").headers["cache-control"] == "no-store"


def test_page__import_map_first_then_the_pages_modules_preloaded(client):
    html = client.get("/").text
    head = html.split("</head>")[0]
    assert head.index('type="importmap"') < head.index('type="module"')
    market = preloads(html)
    names = {url.split("?")[0] for url in market}
    # The market's whole static graph, fetched in parallel rather than level after level.
    assert {"js/api.js", "js/shell.js", "js/i18n.js", "js/format.js", "js/wallet.js", "js/chain.js"} <= names
    assert all(re.search(r"\?v=[0-9a-f]{12}$", url) for url in market)
    # ethers (160 KB gzipped) is for signing and chain reads: loaded on demand, never up front.
    assert not any("vendor/" in name for name in names)
    explorer = {url.split("?")[0] for url in preloads(client.get("/explorer.html").text)}
    assert "js/pages/explorer.js" not in explorer  # the page's own script is the entry
    assert not any("vendor/" in name for name in explorer)


@pytest.fixture
def frontend_copy(tmp_path, settings, token):
    """The app serving a copy of the frontend this test may edit."""
    root = tmp_path / "frontend"
    shutil.copytree(settings.frontend_dir, root, ignore=shutil.ignore_patterns("vendor"))
    settings.frontend_dir = root
    with TestClient(create_app(settings)) as test_client:
        yield root, test_client


def test_cache__an_edited_module_gets_a_new_url_without_a_restart(frontend_copy):
    root, client = frontend_copy
    before = import_map(client.get("/").text)["./js/format.js"]
    with open(root / "js" / "format.js", "a") as f:
        f.write("\n// edited\n")
    after = import_map(client.get("/").text)["./js/format.js"]
    assert after != before
    assert client.get(after.removeprefix(".")).headers["cache-control"] == IMMUTABLE
    assert client.get(before.removeprefix(".")).headers["cache-control"] == "no-cache"
