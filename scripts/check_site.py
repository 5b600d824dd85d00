"""Open the built book in a real headless browser, with no network, and check what a reader sees.

For every page of the book: it loads, with no failed local request and no JavaScript
error, and MathJax has typeset the math (no raw TeX left in the text). On every
chapter, each precomputed slider (a matplotlib JavaScript animation) shows a
different frame after its slider is moved. Requests to any other host are blocked and
reported: the book must not need them.

    python scripts/check_site.py _build/html [--screenshots DIR]

Uses Debian's Chromium (/usr/bin/chromium) through Playwright; never downloads a browser.
"""

import argparse
import functools
import http.server
import re
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|\\begin\{")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def visible_prose(page) -> str:
    """Text of the page outside code blocks and outputs, where raw TeX would show."""
    return page.evaluate("""() => {
        const main = document.querySelector('main') || document.body;
        const copy = main.cloneNode(true);
        copy.querySelectorAll('pre, code, .highlight, .cell_output, script, style, mjx-container')
            .forEach(e => e.remove());
        return copy.innerText;
    }""")


def check_math(page, name: str, problems: list[str]) -> int:
    """Wait for MathJax (on pages that load it), then look for TeX it left untypeset."""
    if page.evaluate("() => !!document.querySelector('script[src*=mathjax]')"):
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
    typeset = page.locator("mjx-container").count()
    raw = RAW_TEX.findall(visible_prose(page))
    if raw:
        problems.append(f"{name}: raw TeX left in the page ({len(raw)} delimiters, e.g. {raw[0]!r})")
    return typeset


def check_sliders(page, name: str, shots: Path | None, problems: list[str]) -> int:
    animations = page.locator("div.animation")
    for i in range(animations.count()):
        animation = animations.nth(i)
        animation.scroll_into_view_if_needed()
        image, slider = animation.locator("img"), animation.locator("input[type=range]")
        top, start = int(slider.get_attribute("max")), int(slider.input_value())
        before = image.get_attribute("src")
        if shots:
            animation.screenshot(path=str(shots / f"{name}-slider{i}-before.png"))
        # Move the slider as a reader would: click the end of its track farther from the thumb.
        box = slider.bounding_box()
        x = box["x"] + 2 if start > top / 2 else box["x"] + box["width"] - 2
        page.mouse.click(x, box["y"] + box["height"] / 2)
        after, position = image.get_attribute("src"), int(slider.input_value())
        if shots:
            animation.screenshot(path=str(shots / f"{name}-slider{i}-after.png"))
        if position == start or after == before:
            problems.append(f"{name}: slider {i} did not change the figure "
                            f"(position {start} -> {position} of {top})")
    return animations.count()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built book, e.g. _build/html")
    parser.add_argument("--screenshots", type=Path, help="folder for screenshots of the pages and sliders")
    args = parser.parse_args()
    if not (args.site / "index.html").exists():
        sys.exit(f"{args.site}/index.html not found: build the book first (make book)")
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)

    pages = sorted(p.relative_to(args.site).as_posix() for p in (args.site / "book").glob("*.html"))
    # A chapter is a page built from a notebook (Sphinx keeps each source in _sources/).
    chapters = [p for p in pages if (args.site / "_sources" / p).with_suffix(".ipynb").exists()]
    server, base = serve(args.site)
    problems, blocked, failed = [], set(), []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})

        def route(r):
            if r.request.url.startswith(base):
                return r.continue_()
            blocked.add(re.sub(r"^(https?://[^/]+).*", r"\1", r.request.url))
            return r.abort()

        context.route("**/*", route)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("requestfailed", lambda r: failed.append(f"failed {r.url}") if r.url.startswith(base) else None)

        page.goto(f"{base}/index.html")
        page.wait_for_url(f"{base}/book/*.html")  # the index redirects to the intro page
        print(f"index.html: redirects to {page.url.removeprefix(base + '/')}")

        for path in pages:
            name = Path(path).stem
            errors.clear()
            page.goto(f"{base}/{path}", wait_until="load")
            title = page.title()
            line = f"{path}: '{title}', {check_math(page, name, problems)} formulas typeset"
            if path in chapters:
                line += f", {check_sliders(page, name, args.screenshots, problems)} slider(s) moved"
            if args.screenshots:
                page.goto(f"{base}/{path}", wait_until="load")
                page.screenshot(path=str(args.screenshots / f"{name}.png"))
            problems += [f"{path}: JavaScript error: {e}" for e in errors]
            print(line)
        browser.close()
    server.shutdown()

    problems += [f"failed local request: {f}" for f in sorted(set(failed))]
    problems += [f"the page asked the network for {host} (blocked)" for host in sorted(blocked)]
    if not any(p in chapters for p in pages):
        problems.append("no chapter found in the built book")
    for p in problems:
        print("PROBLEM:", p)
    print(f"{len(pages) + 1} pages checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
