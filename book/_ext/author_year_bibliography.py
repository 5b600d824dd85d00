"""Author–year labels for the bibliography, to match the author–year citations in the text.

sphinxcontrib-bibtex cites in the text by author and year (``bibtex_reference_style:
author_year``), but labels the bibliography's entries with its formatting style's label
style, alpha by default ([ACB17]). This extension registers a pybtex formatting style,
``author_year``, that labels an entry as the text cites it ("Arjovsky et al., 2017"), sorts
the list by author and year, and links arXiv identifiers, DOIs and URLs (pybtex's unsrt
style). ``_config.yml`` makes it the default style (``bibtex_default_style``).
"""

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person) -> str:
    """A person's last name as plain text, LaTeX accents and braces resolved ("Peyré")."""
    parts = (*person.rich_prelast_names, *person.rich_last_names)
    return " ".join(part.render_as("text") for part in parts)


def author_year(entry) -> str:
    """"Villani, 2009", "Peyré and Cuturi, 2019", "Arjovsky et al., 2017"."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(person) for person in people]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels as the text cites; a, b, ... after the year when two entries would share one."""

    def format_labels(self, sorted_entries):
        sorted_entries = list(sorted_entries)
        labels = [author_year(entry) for entry in sorted_entries]
        shared = {label for label, count in Counter(labels).items() if count > 1}
        seen = Counter()
        for label in labels:
            if label in shared:
                seen[label] += 1
                label = f"{label}{'abcdefghijklmnopqrstuvwxyz'[seen[label] - 1]}"
            yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "author_year"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "author_year", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
