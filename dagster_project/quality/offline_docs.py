"""Make GX Data Docs pages work offline and keep every gate's page.

Two faults of GX's own site building, both fixed here:

- Each gate validates in its own ephemeral GX context, and a context building its
  site into the shared folder removes the pages it does not know: after a nightly
  run only the last gate's page was left. So GX builds into a private staging
  folder, and `move_pages` moves the new pages into the shared folder.
- GX pages load Bootstrap, jQuery, Font Awesome and a logo from CDNs and S3.
  `offline_page` drops every remote <link>/<script>/<img>/url() and points the
  pages at the vendored copies in data_docs_assets/ (see its README), installed
  once per Data Docs folder under static/vendor/. No download ever happens.
"""
from __future__ import annotations

import filecmp
import os
import re
import shutil
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent / "data_docs_assets"
VENDOR_SUBDIR = Path("static") / "vendor"
STYLESHEETS = ("bootstrap.min.css", "offline.css")
SCRIPTS = ("jquery.min.js", "bootstrap.bundle.min.js")
PAGE_SECTIONS = ("validations", "expectations")

_REMOTE = r"""(?:https?:)?//[^"'\s>]+"""
_REMOTE_LINK = re.compile(rf"""<link\b[^>]*\bhref=["']{_REMOTE}["'][^>]*>\s*""", re.IGNORECASE)
_REMOTE_SCRIPT = re.compile(rf"""<script\b[^>]*\bsrc=["']{_REMOTE}["'][^>]*>\s*</script>\s*""", re.IGNORECASE)
_REMOTE_IMG = re.compile(rf"""<img\b([^>]*)\bsrc=["']({_REMOTE})["']([^>]*)>""", re.IGNORECASE)
_STATIC_LINK = re.compile(r"""\b(href|src)=["'](?:\.\./)*static/""", re.IGNORECASE)
_REMOTE_URL = re.compile(rf"""url\(\s*["']?{_REMOTE}["']?\s*\)""", re.IGNORECASE)


def install_assets(docs_dir: Path) -> None:
    """Copy the vendored assets into the Data Docs folder (only when changed)."""
    target = docs_dir / VENDOR_SUBDIR
    target.mkdir(parents=True, exist_ok=True)
    for name in (*STYLESHEETS, *SCRIPTS):
        source, destination = ASSETS_DIR / name, target / name
        if not destination.exists() or not filecmp.cmp(source, destination, shallow=False):
            temporary = destination.with_name(f".{name}.{os.getpid()}.tmp")
            shutil.copyfile(source, temporary)
            os.replace(temporary, destination)


def _local_image(match: re.Match, root: str, docs_dir: Path) -> str:
    """A GX logo from S3 becomes GX's local copy of it; any other remote image is dropped."""
    name = match.group(2).split("?")[0].rsplit("/", 1)[-1]
    if (docs_dir / "static" / "images" / name).exists():
        return f'<img{match.group(1)}src="{root}static/images/{name}"{match.group(3)}>'
    return ""


def offline_page(text: str, root: str, docs_dir: Path) -> str:
    """The page with no remote resource left, loading the vendored assets instead.

    root: the relative path from the page to the Data Docs folder ("" or "../../").
    """
    text = _REMOTE_LINK.sub("", text)
    text = _REMOTE_SCRIPT.sub("", text)
    text = _REMOTE_IMG.sub(lambda m: _local_image(m, root, docs_dir), text)
    text = _REMOTE_URL.sub("none", text)
    # GX links its favicon one level short on validation pages: point every static/ link at the real root
    text = _STATIC_LINK.sub(lambda m: f'{m.group(1)}="{root}static/', text)
    vendor = f"{root}{VENDOR_SUBDIR.as_posix()}/"
    styles = "".join(f'<link rel="stylesheet" href="{vendor}{name}">' for name in STYLESHEETS)
    # jQuery and Bootstrap first in <head>: GX's inline scripts in the body call $(...)
    scripts = "".join(f'<script src="{vendor}{name}"></script>' for name in SCRIPTS)
    head = re.search(r"<head[^>]*>", text, re.IGNORECASE)
    if head is None:
        return styles + scripts + text
    return text[:head.end()] + styles + scripts + text[head.end():]


def move_pages(staging_dir: Path, docs_dir: Path) -> dict[Path, Path]:
    """Move the pages GX built into staging_dir into docs_dir (offline, atomically); return old -> new path."""
    if (staging_dir / "static").is_dir():
        shutil.copytree(staging_dir / "static", docs_dir / "static", dirs_exist_ok=True)
    install_assets(docs_dir)
    moved = {}
    for section in PAGE_SECTIONS:
        for page in sorted((staging_dir / section).rglob("*.html")) if (staging_dir / section).is_dir() else []:
            relative = page.relative_to(staging_dir)
            destination = docs_dir / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            root = "../" * (len(relative.parts) - 1)
            temporary = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
            temporary.write_text(offline_page(page.read_text(encoding="utf-8"), root, docs_dir), encoding="utf-8")
            os.replace(temporary, destination)
            moved[page] = destination
    return moved
