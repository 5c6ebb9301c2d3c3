"""Dataset cards: Markdown written by vendors, rendered to HTML that is safe to show anyone.

Raw HTML in the Markdown is not interpreted, and the rendered HTML is cleaned again by nh3
(an allow-list sanitiser), so scripts, event handlers and javascript: URLs never survive.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "img",
}
_ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}


def render_card(markdown: str) -> str:
    html = _md.render(markdown or "")
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRS, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
