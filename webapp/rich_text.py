"""Texts written by organisers (event and workshop descriptions, later mail bodies): a small,
safe subset of Markdown, written as HTML for pages and HTML mails, and as plain text for text
mails and calendar files.

The subset: paragraphs (a single line break is kept as a line break), bulleted and numbered
lists (nested too), emphasis (`*em*`, `**strong**`), inline code, links to http, https and
mailto addresses (`[text](https://…)`, `<https://…>`), and headings. Headings never outrank the
page's own: they are clamped to `heading_level` and below (`#`, `##` and `###` all give an
<h3> by default; `####` gives an <h4>). The rest is dropped or kept as mere text: raw HTML (a
tag within a line is dropped, the text around it stays; an HTML block, such as a <script>
element on lines of its own, is dropped whole), images (never loaded: their text alternative
stays), code blocks, quotes and rules (their text stays), links to any other kind of address
(left as typed, as text).

Two layers: markdown-it-py parses only that subset and renders it; nh3 (the ammonia sanitiser)
then keeps only an explicit allow-list of tags and attributes, and adds rel="noopener nofollow"
to links. No style or script attribute can come out, so pages keep their strict CSP.
"""
import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

LINK_SCHEMES = ("http", "https", "mailto")
# Block rules outside the subset. Raw HTML and images are parsed, so that they can be dropped.
DISABLED_RULES = ["code", "fence", "blockquote", "hr"]

ALLOWED_TAGS = {"p", "br", "ul", "ol", "li", "em", "strong", "code", "a", "h3", "h4", "h5", "h6"}
# "*": none on every tag (ammonia would otherwise keep lang and title everywhere).
ALLOWED_ATTRIBUTES = {"*": set(), "a": {"href"}, "ol": {"start"}}
LINK_REL = "noopener nofollow"


def _drop(self, tokens, idx, options, env):
    return ""


def _image_as_text(self, tokens, idx, options, env):
    """An image is never loaded: its text alternative takes its place."""
    return escapeHtml(self.renderInlineAsText(tokens[idx].children, options, env))


def _is_allowed_link(url):
    scheme, colon, _rest = url.partition(":")
    return bool(colon) and scheme.strip().lower() in LINK_SCHEMES


def _parser():
    md = MarkdownIt("commonmark", {"html": True, "breaks": True}).disable(DISABLED_RULES)
    md.validateLink = _is_allowed_link
    md.add_render_rule("html_block", _drop)
    md.add_render_rule("html_inline", _drop)
    md.add_render_rule("image", _image_as_text)
    return md


_markdown = _parser()


def _tokens(text, heading_level):
    tokens = _markdown.parse((text or "").replace("\r\n", "\n"))
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(max(int(token.tag[1]), heading_level), 6)
            token.tag = f"h{level}"
    return tokens


def to_html(text, heading_level=3):
    """The text as safe HTML (Markup); headings start at <h`heading_level`>."""
    html = _markdown.renderer.render(_tokens(text, heading_level), _markdown.options, {})
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, link_rel=LINK_REL,
                            url_schemes=set(LINK_SCHEMES)).strip())


def to_text(text):
    """The text as clean plain text: no markup, lists as "- item" (or "1. item", nested ones
    indented under their item's text), links as "text (address)", blocks separated by a blank line."""
    blocks = []  # top-level blocks, each a list of lines
    lists = []  # the open lists, innermost last; "indent": where their items start
    prefix = indent = ""  # the current item's marker line start, and its continuation lines' start
    for token in _tokens(text, 1):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            if not lists:
                blocks.append([])
            lists.append({"ordered": token.type == "ordered_list_open", "number": int(token.attrGet("start") or 1),
                          "indent": indent})  # under the enclosing item's text, if any
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            indent = lists.pop()["indent"]  # back to the enclosing item's text
        elif token.type == "list_item_open":
            current = lists[-1]
            marker = f"{current['number']}. " if current["ordered"] else "- "
            current["number"] += 1
            prefix = current["indent"] + marker
            indent = " " * len(prefix)
        elif token.type == "inline":
            lines = _inline_text(token.children).split("\n")
            if not lists:
                blocks.append(lines)
                continue
            first, prefix = prefix or indent, ""
            blocks[-1] += [first + lines[0]] + [indent + line for line in lines[1:]]
    return "\n\n".join("\n".join(line.rstrip() for line in block) for block in blocks if any(block)).strip()


def _inline_text(children):
    """An inline token's children as text: emphasis and raw HTML dropped, links as "text (address)"."""
    parts = []
    link = None  # (href, index in parts where its text starts)
    for child in children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "image":
            parts.append(_inline_text(child.children))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "link_open":
            link = (child.attrGet("href"), len(parts))
        elif child.type == "link_close" and link:
            href, start = link
            address = href.removeprefix("mailto:")
            if "".join(parts[start:]).strip() != address:
                parts.append(f" ({address})")
            link = None
    return "".join(parts).strip()
