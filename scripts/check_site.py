"""Open the built book in a real headless browser, with no network, and check what a reader sees.

For every page of the book: it loads, with no failed local request and no JavaScript
error; MathJax has typeset every formula without an error (no "Math input error"
box) and left no raw TeX in the prose (no `$`, `\\(`, `$$` or TeX command a reader
would see); every image has loaded; no capitalised word is doubled ("Theorem Theorem
1", which a cross-reference with its own prefix gives). At 1280 px, nothing visible in the
text column is wider than it: no printed line scrolls, no table sticks out, and no figure
is shrunk below 95 % of its width (its fonts would shrink with it); code cells wider than
the column scroll sideways and are counted. On every chapter, each
precomputed slider (a matplotlib JavaScript animation) shows a different frame after
its slider is moved. Requests to any other host are blocked and reported: the book
must not need them.

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
# What TeX looks like when MathJax did not typeset it: a dollar sign (a `$` whose partner was
# lost to a Markdown rule), \( or \[ delimiters, or a TeX command such as \mathrm or \frac.
RAW_TEX = re.compile(r"\$|\\\(|\\\[|\\[A-Za-z]+")
DOUBLED_WORD = re.compile(r"\b([A-Z][a-z]+)[ \u00a0]\1\b")


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
    """Wait for MathJax (on pages that load it), then look for formulas it could not typeset
    and for TeX it never saw."""
    if page.evaluate("() => !!document.querySelector('script[src*=mathjax]')"):
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
    typeset = page.locator("mjx-container").count()
    # MathJax 3 draws a formula it cannot parse as a red box (an <mjx-merror> element); its
    # list of typeset formulas still holds the TeX source of each.
    errors = page.evaluate("""() => {
        const failed = [];
        for (const item of (window.MathJax && MathJax.startup.document ? MathJax.startup.document.math : [])) {
            const found = {error: false};
            if (item.root) item.root.walkTree((node, data) => { if (node.isKind('merror')) data.error = true; }, found);
            if (found.error) failed.push(item.math);
        }
        return {tex: failed, boxes: document.querySelectorAll('mjx-merror').length};
    }""")
    for tex in errors["tex"]:
        problems.append(f"{name}: MathJax could not typeset {tex!r} (a 'Math input error' box)")
    if errors["boxes"] and not errors["tex"]:
        problems.append(f"{name}: {errors['boxes']} 'Math input error' box(es)")
    prose = visible_prose(page)
    raw = [m.group(0) for m in RAW_TEX.finditer(prose)]
    if raw:
        where = RAW_TEX.search(prose).start()
        context = " ".join(prose[max(0, where - 50): where + 50].split())
        problems.append(f"{name}: raw TeX in the prose ({len(raw)} pieces: {sorted(set(raw))[:5]}), "
                        f"first near '{context}'")
    for match in DOUBLED_WORD.finditer(prose):
        problems.append(f"{name}: doubled word {match.group(0)!r}")
    return typeset


def check_images(page, name: str, problems: list[str]) -> None:
    """Every <img> of the page has loaded (a missing file or a broken data URI leaves it empty)."""
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    broken = page.evaluate("""() => [...document.images].filter(img => img.naturalWidth === 0)
        .map(img => img.getAttribute('src').slice(0, 80))""")
    for src in broken:
        problems.append(f"{name}: image did not load ({src!r})")


def check_layout(page, name: str, problems: list[str]) -> tuple[int, int]:
    """Visible printed lines, tables and figures fit the text column.

    Returns how many blocks were checked and how many visible code cells are wider than the
    column (they scroll sideways: reported, not counted as problems)."""
    found = page.evaluate("""() => {
        const article = document.querySelector('article') || document.body;
        // Inside a closed <details> (a folded cell, a solution's dropdown) nothing is shown.
        const visible = el => el.offsetParent !== null && el.getBoundingClientRect().width > 0
                              && !el.closest('details:not([open])') && el.innerText.trim() !== '';
        const wide = [];
        let checked = 0;
        let code = 0;
        for (const el of article.querySelectorAll('pre')) {
            if (!visible(el)) continue;
            checked++;
            if (el.scrollWidth <= el.clientWidth + 1) continue;
            if (el.closest('.cell_input')) { code++; continue; }   // code scrolls: reported, not a problem
            const longest = el.innerText.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '');
            wide.push(`a printed line is wider than the column by ${el.scrollWidth - el.clientWidth} px: `
                      + JSON.stringify(longest.slice(0, 60)));
        }
        for (const el of article.querySelectorAll('table')) {
            if (!visible(el)) continue;
            checked++;
            const box = el.parentElement;
            if (el.getBoundingClientRect().width > box.clientWidth + 1)
                wide.push(`a table is ${Math.round(el.getBoundingClientRect().width)} px wide in ${box.clientWidth} px: `
                          + JSON.stringify(el.innerText.slice(0, 50)));
        }
        for (const img of article.querySelectorAll('img')) {
            if (!visible(img) || !img.naturalWidth) continue;
            checked++;
            const meant = parseFloat(img.style.width) || parseFloat(img.getAttribute('width')) || img.naturalWidth;
            const shown = img.getBoundingClientRect().width;
            if (shown < 0.95 * meant)
                wide.push(`a figure is shown at ${Math.round(100 * shown / meant)} % of its width (${Math.round(shown)} of ${Math.round(meant)} px)`);
        }
        return [checked, wide, code];
    }""")
    checked, wide, code = found
    problems += [f"{name}: {w}" for w in wide]
    return checked, code


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
            check_images(page, name, problems)
            checked, code = check_layout(page, name, problems)
            line += f", {checked} blocks checked against the column ({code} visible code cell(s) scroll)"
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
