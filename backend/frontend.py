"""The static frontend as a phone on a slow network wants it.

Every page goes out with its asset URLs versioned by content (`js/api.js?v=<hash>`): the
page's own script, stylesheet and images in the markup, and every ES module through an
import map, so the relative imports between modules (and `import()` of ethers) resolve to
versioned URLs too. A versioned URL names one content forever: it is cached for a year
(`immutable`); a page, an unversioned or stale URL and the API are revalidated on every
use. The page also lists its whole static import graph as `<link rel="modulepreload">`:
the browser fetches the modules in parallel instead of discovering them one level at a
time.

Hashes are read again when a file's size or mtime changes, so an edited file gets a new
URL without a restart (`make run` while working on the frontend).
"""

import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath

from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
VERSIONED = (".js", ".css", ".svg", ".png", ".json")

# `import {a, b} from "./x.js";`, `import "./x.js";`, `export {a} from "./x.js";`: the
# static imports at a line's start (a JSDoc `import("...")` type never starts a line).
STATIC_IMPORT = re.compile(r"""^\s*(?:import|export)\s(?:[^;"']*?\sfrom\s*)?["']([^"']+)["']""", re.MULTILINE)
# src="js/pages/market.js", href="css/app.css": relative asset references in a page.
ASSET_REF = re.compile(r"""\b(src|href)="((?:js|css|img|vendor)/[^"?#:]+)\"""")
MODULE_SCRIPT = re.compile(r"""<script type="module" src="([^"?#:]+)"></script>""")


class AssetVersions:
    """Content hashes of the files under `root`, re-read when a file changes."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict[str, tuple[tuple[int, int], str]] = {}

    def version(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(rel)
        if cached and cached[0] == key:
            return cached[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        self._cache[rel] = (key, digest)
        return digest

    def url(self, rel: str) -> str:
        version = self.version(rel)
        return f"{rel}?v={version}" if version else rel

    def modules(self) -> list[str]:
        return sorted(
            p.relative_to(self.root).as_posix()
            for folder in ("js", "vendor")
            for p in (self.root / folder).rglob("*.js")
            if p.is_file()
        )

    def import_graph(self, entry: str) -> list[str]:
        """`entry` and every module it imports statically, directly or not."""
        seen: list[str] = []
        todo = [entry]
        while todo:
            rel = todo.pop()
            if rel in seen:
                continue
            try:
                source = (self.root / rel).read_text()
            except OSError:
                continue
            seen.append(rel)
            for spec in STATIC_IMPORT.findall(source):
                if spec.startswith("."):
                    todo.append(os.path.normpath(str(PurePosixPath(rel).parent / spec)).replace(os.sep, "/"))
        return seen

    def render_page(self, html: str) -> str:
        """The page with versioned asset URLs, its import map and its module preloads."""
        entries = MODULE_SCRIPT.findall(html)
        preloads = [m for entry in entries for m in self.import_graph(entry) if m not in entries]
        imports = {f"./{m}": f"./{self.url(m)}" for m in self.modules()}
        head = [f'<script type="importmap">{json.dumps({"imports": imports}, separators=(",", ":"))}</script>']
        head += [f'<link rel="modulepreload" href="{self.url(m)}">' for m in dict.fromkeys(preloads)]
        html = ASSET_REF.sub(lambda m: f'{m.group(1)}="{self.url(m.group(2))}"', html)
        # The import map must come before any module is loaded: first thing in <head>.
        return html.replace("<head>", "<head>\n  " + "\n  ".join(head), 1)


class Frontend(StaticFiles):
    """StaticFiles (html mode) with versioned URLs in the pages and cache lifetimes to match."""

    def __init__(self, directory: Path):
        super().__init__(directory=directory, html=True)
        self.versions = AssetVersions(Path(directory))

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200) -> Response:
        full_path = Path(full_path)
        if full_path.suffix == ".html":
            return self._page(full_path, scope, status_code)
        response = super().file_response(full_path, stat_result, scope, status_code)
        rel = full_path.relative_to(self.versions.root).as_posix()
        requested = QueryParams(scope.get("query_string", b"")).get("v")
        # Only the current content's version is cached for good: an old page asking for
        # `?v=<old>` gets today's file, revalidated, never pinned under the old name.
        fresh = requested is not None and full_path.suffix in VERSIONED and requested == self.versions.version(rel)
        response.headers["Cache-Control"] = IMMUTABLE if fresh else REVALIDATE
        return response

    def _page(self, full_path: Path, scope: Scope, status_code: int) -> Response:
        body = self.versions.render_page(full_path.read_text()).encode()
        # The page names its assets' versions: its validator is its rendered content, not
        # its file's mtime (an edited module changes the page without touching its file).
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        headers = {"ETag": etag, "Cache-Control": REVALIDATE}
        if status_code == 200 and etag in Headers(scope=scope).get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, status_code=status_code, media_type="text/html", headers=headers)
