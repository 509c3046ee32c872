"""DKIM signing of every outgoing mail, when DKIM_SELECTOR, DKIM_DOMAIN and DKIM_PRIVATE_KEY_PATH
are set (webapp/config.py reads the key at start-up). Besides dkimpy's default set (From, To,
Subject, Date, Message-ID, MIME headers, List-Unsubscribe…), the signature covers the one-click
unsubscribe header (RFC 8058 asks for it) and the headers that mark automatic and bulk mail."""
import dkim
from flask import current_app

EXTRA_SIGNED_HEADERS = (b"list-unsubscribe", b"list-unsubscribe-post", b"auto-submitted", b"precedence",
                        b"content-language")


def sign(raw):
    """`raw` (the message as sent, CRLF line ends) with its DKIM-Signature header prepended, or
    unchanged when DKIM is not configured."""
    config = current_app.config
    if not config["DKIM_PRIVATE_KEY"]:
        return raw
    signer = dkim.DKIM(raw)
    signer.should_sign.update(EXTRA_SIGNED_HEADERS)
    signature = signer.sign(config["DKIM_SELECTOR"].encode(), config["DKIM_DOMAIN"].encode(),
                            config["DKIM_PRIVATE_KEY"], canonicalize=(b"relaxed", b"relaxed"),
                            include_headers=signer.default_sign_headers())
    return signature + raw
