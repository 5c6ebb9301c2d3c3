"""Dataset cards: Markdown written by vendors, rendered to HTML that is safe to show anyone.

Raw HTML in the Markdown is not interpreted, and the rendered HTML is cleaned again by nh3
(an allow-list sanitiser), so scripts, event handlers and javascript: URLs never survive.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "img",
}
_ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}


def render_card(markdown: str, *, heading_offset: int = 0) -> str:
    """Safe HTML. `heading_offset` demotes headings, so a card inside a page keeps the page's
    single h1 (screen readers navigate by heading level)."""
    html = _md.render(markdown or "")
    if heading_offset:
        html = re.sub(r"<(/?)h([1-6])>", lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + heading_offset)}>", html)
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRS, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
