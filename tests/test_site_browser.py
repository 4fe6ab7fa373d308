"""The lesson website, built and opened in a real browser (headless Chromium).

The session fixture builds the site with ``tools.site`` from the notebooks that nbval
executed earlier in the same pytest run (conftest.py runs these tests last), serves
``_build/html`` on 127.0.0.1 and crawls every page: no console errors, no request
leaves the machine (the site must work offline), every image loads and has alt
text, every internal link resolves, and the navigation lists the episodes in order.
Screenshots go to ``_build/screenshots/``.

The browser is Debian's ``chromium`` (``tools/install-browser.sh``, run by
``make setup``), driven by Playwright's Python API; Playwright's own browser
downloads are never used. Without Chromium these tests are skipped, unless
CNNLESSON_REQUIRE_BROWSER=1 (set by .ci/run), where they fail.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import threading
import urllib.error
import urllib.request
from collections import deque
from urllib.parse import urldefrag, urlparse

import pytest

from lessonrun import ROOT
from tools.site import episodes

# The first test builds the site, which may execute notebooks whose executed copy is
# missing or stale: allow more than the default per-test timeout.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(3600)]

CHROMIUM = os.environ.get("CNNLESSON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "_build" / "screenshots"
# The episodes that have a notebook (tests/test_notebooks_fresh.py reports the others).
EPISODES = [e["name"] for e in episodes()]


def _unavailable(reason):
    if os.environ.get("CNNLESSON_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (CNNLESSON_REQUIRE_BROWSER=1: the browser tests must run)")
    pytest.skip(f"{reason}: install it with `bash tools/install-browser.sh` "
                f"(or `apt-get install chromium`) to run the website's browser tests")


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as err:  # noqa: BLE001
        pw.stop()
        _unavailable(f"Chromium at {CHROMIUM} does not start ({str(err).splitlines()[0]})")
    yield b
    b.close()
    pw.stop()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site(browser):
    """Build the site (reusing this session's executed notebooks) and serve it locally."""
    from conftest import FAILED_NOTEBOOKS
    from tools import site as sitebuild
    if FAILED_NOTEBOOKS:
        pytest.fail("the website is not built because these notebooks failed under nbval "
                    "in this run: " + ", ".join(sorted(FAILED_NOTEBOOKS)))
    index = sitebuild.build(log=lambda *a: print(*a, flush=True))
    handler = functools.partial(_Quiet, directory=str(index.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _is_local(url, base):
    return url.startswith(base)


def _load(browser, url, base):
    """Open ``url``; return (page, context, problems) where problems lists console
    errors, page errors, failed local requests and attempts to reach another host."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    problems = []

    def route(r):
        if _is_local(r.request.url, base) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            problems.append(f"request to another host (the site must work offline): "
                            f"{r.request.url}")
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text} ({m.location})")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})")
            if _is_local(r.url, base) else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, context, problems


IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(img => { img.loading = 'eager';
                                      return img.decode().catch(() => null); }));
  return imgs.map(img => ({src: img.currentSrc || img.src, alt: img.getAttribute('alt'),
                           complete: img.complete, width: img.naturalWidth}));
}"""
LINKS_JS = "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
IDS_JS = ("() => Array.from(document.querySelectorAll('[id], a[name]'))"
          ".map(e => e.id || e.getAttribute('name'))")


@pytest.fixture(scope="session")
def crawl(site, browser):
    """Every page reachable from the home page: {url: {problems, images, links, ids}}."""
    pages, queue, seen = {}, deque([site]), {site}
    while queue:
        url = queue.popleft()
        page, context, problems = _load(browser, url, site)
        try:
            info = {"problems": problems, "images": page.evaluate(IMAGES_JS),
                    "links": page.evaluate(LINKS_JS), "ids": set(page.evaluate(IDS_JS))}
        finally:
            context.close()
        pages[url] = info
        for link in info["links"]:
            target, _ = urldefrag(link)
            if (_is_local(target, site) and target not in seen
                    and (target.endswith((".html", "/")))):
                seen.add(target)
                queue.append(target)
    return pages


def test_every_episode_has_a_page(crawl, site):
    missing = [n for n in EPISODES if f"{site}notebooks/{n}.html" not in crawl]
    assert not missing, f"episode pages not reachable from the home page: {missing}"
    assert len(crawl) >= len(EPISODES) + 5


def test_pages_load_without_console_errors_or_external_requests(crawl):
    bad = {url: info["problems"] for url, info in crawl.items() if info["problems"]}
    assert not bad, "\n".join(f"{url}:\n  " + "\n  ".join(p) for url, p in bad.items())


def test_every_image_loads_and_has_alt_text(crawl):
    bad = []
    for url, info in crawl.items():
        for img in info["images"]:
            if not img["complete"] or img["width"] == 0:
                bad.append(f"{url}: image does not load: {img['src']}")
            if not (img["alt"] or "").strip():
                bad.append(f"{url}: image without alt text: {img['src']}")
    assert not bad, "\n".join(bad)


def test_every_figure_is_on_its_page_with_the_alt_text_of_its_cell(crawl, site):
    """Each cell that draws a figure (it carries mystnb.image.alt in notebooks/NN.ipynb)
    shows it on the episode's page, as an <img> with that alt text."""
    import nbformat
    bad = []
    for name in EPISODES:
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        alts = [c.metadata.get("mystnb", {}).get("image", {}).get("alt", "").strip()
                for c in nb.cells if c.cell_type == "code"
                and "remove-cell" not in c.metadata.get("tags", [])]
        page = crawl[f"{site}notebooks/{name}.html"]["images"]
        shown = {(i["alt"] or "").strip() for i in page if "/_images/" in i["src"]}
        bad += [f"{name}: no figure with alt text {alt[:80]!r}..." for alt in alts
                if alt and alt not in shown]
    assert not bad, "\n".join(bad)


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def test_every_internal_link_resolves(crawl, site):
    bad, checked = [], {}
    for url, info in crawl.items():
        for link in info["links"]:
            if not _is_local(link, site):
                continue
            target, fragment = urldefrag(link)
            if target not in checked:
                checked[target] = 200 if target in crawl else _status(target)
            if checked[target] != 200:
                bad.append(f"{url}: link to {link} gives HTTP {checked[target]}")
            elif fragment and target in crawl and fragment not in crawl[target]["ids"]:
                bad.append(f"{url}: link to {link}: no #{fragment} on that page")
    assert not bad, "\n".join(sorted(set(bad)))


def test_no_link_points_at_a_host_the_configuration_does_not_name(crawl, site):
    """Every rendered link to another host goes to one that site/config.toml names
    (link_hosts, plus the repository's host, Binder and Colab when a repository is set):
    no badge, button or clone line points at a repository that is not the lesson's."""
    from tools.site import LAUNCH_HOSTS, NO_REPOSITORY, config
    cfg = config()
    allowed = set(cfg["link_hosts"])
    bad, external = [], set()
    for url, info in crawl.items():
        for link in info["links"]:
            parts = urlparse(link)
            if _is_local(link, site) or parts.scheme not in ("http", "https"):
                continue
            external.add(link)
            if parts.hostname not in allowed:
                bad.append(f"{url}: link to {link} (host {parts.hostname} is not in "
                           f"link_hosts of site/config.toml)")
    assert not bad, "\n".join(sorted(set(bad)))
    setup = crawl[f"{site}learners/setup.html"]
    launch = [link for link in external if urlparse(link).hostname in LAUNCH_HOSTS]
    if cfg["repository_url"]:
        repo = cfg["repository_url"].split("://", 1)[1]
        assert any(repo.split("/", 1)[1] in link for link in launch), "no badge names the repository"
    else:
        assert not launch, f"launch links although no repository is set: {launch[:3]}"
        text = (ROOT / "_build" / "html" / "learners" / "setup.html").read_text()
        assert "site/config.toml" in text and NO_REPOSITORY.split(",")[0] in text
        assert setup["links"], "the set-up page has no links at all"


def test_navigation_lists_the_episodes_in_order(browser, site):
    page, context, _ = _load(browser, site, site)
    try:
        hrefs = page.eval_on_selector_all(
            ".bd-sidebar-primary nav a.reference.internal", "els => els.map(a => a.href)")
    finally:
        context.close()
    order = [m[1] for h in hrefs for m in [re.search(r"/notebooks/(\d\d-[^/]+)\.html$", h)] if m]
    assert order == EPISODES, f"navigation order {order}, expected {EPISODES}"
    numbers = [int(n[:2]) for n in order]
    assert numbers == sorted(numbers) and numbers[0] == 0


def test_episode_pages_link_their_notebooks(crawl, site):
    """Each episode page offers its full and code-along notebooks, the current ones."""
    for name in EPISODES:
        links = [urlparse(link).path for link in crawl[f"{site}notebooks/{name}.html"]["links"]]
        downloads = [p for p in links if "/_downloads/" in p and p.endswith(f"/{name}.ipynb")]
        assert len(downloads) >= 2, f"{name}: no download links to its notebooks: {downloads}"
        wanted = {(ROOT / "notebooks" / f"{name}.ipynb").read_bytes(),
                  (ROOT / "notebooks" / "code-along" / f"{name}.ipynb").read_bytes()}
        got = set()
        for path in downloads:
            with urllib.request.urlopen(site.rstrip("/") + path, timeout=10) as r:
                got.add(r.read())
        assert wanted <= got, f"{name}: the downloads are not the current notebooks"


def test_removed_cells_stay_off_the_site():
    """Cells tagged remove-cell (the lesson-numbers cell) are not on the pages."""
    html = ROOT / "_build" / "html" / "notebooks"
    for name in EPISODES:
        text = (html / f"{name}.html").read_text()
        assert "quoted_numbers(" not in text, f"{name}: the lesson-numbers cell is shown"


def test_screenshots(browser, site, crawl):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with_figures = [n for n in EPISODES
                    if any("/_images/" in i["src"] and not i["src"].endswith(".svg")
                           for i in crawl[f"{site}notebooks/{n}.html"]["images"])]
    preferred = [n for n in with_figures if n.startswith("05")]
    episode = (preferred or with_figures or EPISODES)[-1]
    shots = {"home.png": (site, None),
             f"episode-{episode}.png": (f"{site}notebooks/{episode}.html", None),
             f"episode-{episode}-figure.png": (f"{site}notebooks/{episode}.html",
                                               ".cell_output img")}
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    for file, (url, scroll_to) in shots.items():
        page, context, _ = _load(browser, url, site)
        try:
            if scroll_to:
                page.evaluate("""sel => { const e = document.querySelector(sel);
                    if (e) window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 250); }""",
                              scroll_to)
            page.screenshot(path=str(SCREENSHOTS / file))
        finally:
            context.close()
        assert (SCREENSHOTS / file).stat().st_size > 10_000, f"{file} looks empty"
