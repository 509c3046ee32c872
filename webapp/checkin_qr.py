"""The check-in code as a QR code, drawn locally by segno: a PNG for the confirmation mails
(embedded in the message, nothing loaded from elsewhere) and inline SVG markup for the pages
(no image request, nothing the Content-Security-Policy has to allow).

Always a full QR code (`make_qr`), never a Micro QR code, which phone cameras and the check-in
page's scanner may not read; a white quiet zone around it, so that it reads on any background.
"""
import io
from dataclasses import dataclass

import segno
from markupsafe import Markup

SCALE = 6  # pixels per module: 174 × 174 px for a 12-character code
BORDER = 4  # the quiet zone the QR standard asks for, in modules


@dataclass(frozen=True)
class QRImage:
    png: bytes
    width: int
    height: int


def qr_png(code):
    """The QR code of `code` as a PNG, with its size in pixels."""
    qr = segno.make_qr(code)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=SCALE, border=BORDER, dark="#000", light="#fff")
    width, height = qr.symbol_size(scale=SCALE, border=BORDER)
    return QRImage(buffer.getvalue(), width, height)


def qr_svg(code, label):
    """The QR code of `code` as inline SVG markup named by `label` (its text alternative)."""
    svg = segno.make_qr(code).svg_inline(scale=SCALE, border=BORDER, dark="#000", light="#fff",
                                         title=label, svgclass="checkin-qr", lineclass=None)
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))
