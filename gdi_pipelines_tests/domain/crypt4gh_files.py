"""Real Crypt4GH keys and files, made with the crypt4gh library itself."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

from crypt4gh import lib
from crypt4gh.keys import c4gh, get_public_key


def make_keypair(folder: Path, name: str, passphrase: str | None = None) -> tuple[Path, bytes]:
    """A recipient key pair as `crypt4gh-keygen` writes it: the secret key file, the public key."""
    folder.mkdir(parents=True, exist_ok=True)
    seckey, pubkey = folder / f"{name}.sec", folder / f"{name}.pub"
    with contextlib.redirect_stderr(io.StringIO()):  # "the private key is not encrypted"
        c4gh.generate(seckey, pubkey, passphrase.encode() if passphrase else None, None)
    return seckey, get_public_key(pubkey)


def encrypt(plain: bytes, recipient_pubkey: bytes) -> bytes:
    """`plain` as a lab's uploader would land it: Crypt4GH for the node's public key."""
    out = io.BytesIO()
    lib.encrypt([(0, os.urandom(32), recipient_pubkey)], io.BytesIO(plain), out)
    return out.getvalue()
