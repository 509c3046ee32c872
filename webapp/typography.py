"""French typography, and the French catalogue that applies it.

The msgids of the sources are French written with plain spaces and straight apostrophes, easy to
type and to read in code. The French catalogue (webapp/translations/fr) is generated from them:
each message is its msgid as French prints it (`french`). Regenerate it after changing wrapped
strings: `make translations-fr` (runs `python -m webapp.typography MESSAGES.pot FRENCH.po`).
"""
import io
import re
import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

NBSP = "\u00a0"  # no-break space: before « : » and », after «
NARROW_NBSP = "\u202f"  # narrow no-break space: before ; ! ?
APOSTROPHE = "\u2019"

# Spaces before a sign (or none), when something other than a space precedes it. The sign ends a
# word: a colon inside a time or a URL (09:30, https://) or a ? starting a query string is no
# punctuation of a sentence and keeps its place.
_BEFORE_HIGH_SIGN = re.compile(r"(?<=[^\s;:!?])\s*([;!?])(?!\w)")
_BEFORE_COLON = re.compile(r"(?<=\S)\s*:(?![\w/])")
_BEFORE_CLOSING_QUOTE = re.compile(r"(?<=\S)\s*»")
_AFTER_OPENING_QUOTE = re.compile(r"«\s*(?=\S)")
_STRAIGHT_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")
# « n° 3 »: the number stays with its sign.
_AFTER_NUMERO = re.compile(r"(?<![^\W\d_])(n°|N°)\s+(?=\S)")

GENERATED_HEADER = """\
# French catalogue of Emgav, GENERATED from the sources: each message
# is its msgid with French typography (webapp/typography.py).
# Do not edit it: change the sources, then run `make translations-fr`."""
# Header lines left out: dates and versions would change it at each generation, without any message changing.
_UNUSED_HEADER = re.compile(
    r'^"(?:Project-Id-Version|Report-Msgid-Bugs-To|POT-Creation-Date|PO-Revision-Date|Generated-By): .*\n',
    re.MULTILINE)


def french(text):
    """`text` with French typography: a narrow no-break space before ; ! ?, a no-break space
    before : and », and after « and « n° », each replacing the plain space (or line break) typed
    there, or added when there is none (not after n°); the typographic apostrophe ’ for ' between
    two letters.
    Placeholders (%(name)s) are left as they are, and applying it twice changes nothing."""
    text = _BEFORE_HIGH_SIGN.sub(NARROW_NBSP + r"\1", text)
    text = _BEFORE_COLON.sub(NBSP + ":", text)
    text = _BEFORE_CLOSING_QUOTE.sub(NBSP + "»", text)
    text = _AFTER_OPENING_QUOTE.sub("«" + NBSP, text)
    text = _AFTER_NUMERO.sub(r"\1" + NBSP, text)
    return _STRAIGHT_APOSTROPHE.sub(APOSTROPHE, text)


def french_catalogue(template):
    """The French catalogue (.po text) of the messages of `template` (the extracted .pot, a
    babel Catalog), sorted by msgid, without locations or dates: it changes only when messages do."""
    catalogue = Catalog(locale="fr", header_comment=GENERATED_HEADER, last_translator="Emgav",
                        language_team="Emgav", fuzzy=False)
    for message in template:
        if not message.id:
            continue
        if message.pluralizable:
            # The first form is for one (0 and 1 in French); the others (many, other) are plural.
            singular, plural = (french(form) for form in message.id)
            string = (singular,) + (plural,) * (catalogue.num_plurals - 1)
        else:
            string = french(message.id)
        catalogue.add(message.id, string, flags=message.flags, context=message.context)
    output = io.BytesIO()
    write_po(output, catalogue, sort_output=True, no_location=True)
    return _UNUSED_HEADER.sub("", output.getvalue().decode("utf-8"))


def main(arguments):
    """`python -m webapp.typography MESSAGES.pot FRENCH.po`: write the French catalogue."""
    template_path, catalogue_path = arguments
    with open(template_path, "rb") as f:
        template = read_po(f)
    with open(catalogue_path, "w", encoding="utf-8") as f:
        f.write(french_catalogue(template))


if __name__ == "__main__":
    main(sys.argv[1:])
