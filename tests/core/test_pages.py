"""Every page the server links to exists in the mini-program."""

from __future__ import annotations

import json
from pathlib import Path

from server import pages

APP_JSON = Path(__file__).resolve().parents[2] / "miniprogram" / "src" / "app.json"


def _client_pages() -> set[str]:
    app = json.loads(APP_JSON.read_text())
    found = set(app["pages"])
    for package in app.get("subPackages", app.get("subpackages", [])):
        found |= {f"{package['root'].rstrip('/')}/{page}" for page in package["pages"]}
    return found


def test_linked_pages_exist_in_the_client():
    client = _client_pages()
    for path in pages.ALL:
        assert path.split("?")[0] in client, path
