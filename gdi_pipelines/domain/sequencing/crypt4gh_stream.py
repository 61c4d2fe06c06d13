"""Crypt4GH (GA4GH) decryption as a readable stream, one 64 KiB segment at a time.

The plaintext only ever exists in memory, one segment at a time: nothing is written to disk.
Header parsing and segment decryption are the `crypt4gh` library's own functions.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from crypt4gh import CIPHER_DIFF, CIPHER_SEGMENT_SIZE, SEGMENT_SIZE, header
from crypt4gh.keys import get_private_key
from crypt4gh.lib import decrypt_block

from gdi_pipelines.domain.sequencing.read_stats import SequenceFileError

MAGIC = header.MAGIC_NUMBER  # b"crypt4gh"
MAX_HEADER_READ = 1 << 20  # a header packet is tiny; a larger length is corruption
_X25519_METHOD = 0
# the library logs key material at DEBUG, and its failures, which we report ourselves
logging.getLogger("crypt4gh").setLevel(logging.CRITICAL)
_HEADER_REASONS = {
    "No supported encryption method": "no header packet opens with the node's private key "
    "(encrypted for another recipient?)",
    "Header too small": "truncated header",
}


class Crypt4GHReader(io.RawIOBase):
    """The plaintext of the Crypt4GH stream `stream` (anything with `read(n)`; never seeked),
    for the recipient X25519 secret key `seckey`. Reads one cipher segment at a time.

    Raises SequenceFileError naming `source` for a stream that is not Crypt4GH, not for this
    key, truncated or corrupt (every segment is authenticated before its bytes are handed out).
    """

    def __init__(self, stream, seckey: bytes, source: str) -> None:
        super().__init__()
        self._stream = stream
        self._source = source
        self._segment = bytearray(SEGMENT_SIZE)
        self._plain = memoryview(b"")
        self.segments = 0  # decrypted so far
        self._session_keys = self._read_header(seckey)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if not self._plain and not self._next_segment():
            return 0
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._plain))
        view[:count] = self._plain[:count]
        self._plain = self._plain[count:]
        return count

    def drain(self) -> None:
        """Decrypt (and so authenticate) whatever the reader left, up to the end."""
        while self._next_segment():
            pass
        self._plain = memoryview(b"")

    def _read_header(self, seckey: bytes) -> list[bytes]:
        head = _read_full(self._stream, len(MAGIC))
        if head != MAGIC:
            raise self._error(f"declared encrypted but no Crypt4GH magic ({_kind(head)})")
        keys = [(_X25519_METHOD, seckey, None)]
        try:
            session_keys, edit_list = header.deconstruct(_HeaderStream(self._stream, head), keys)
        except ValueError as error:
            reason = _HEADER_REASONS.get(str(error), f"truncated or corrupt header ({error})")
            raise self._error(reason) from None
        if edit_list is not None:
            raise self._error("edit lists are not supported")
        if any(len(key) != 32 for key in session_keys):
            raise self._error("corrupt header: a session key is not 32 bytes")
        return session_keys

    def _next_segment(self) -> bool:
        cipher = _read_full(self._stream, CIPHER_SEGMENT_SIZE)
        if not cipher:
            return False
        number = self.segments + 1
        if len(cipher) <= CIPHER_DIFF:
            raise self._error(f"truncated: segment {number} holds only {len(cipher)} bytes")
        try:
            size = decrypt_block(self._segment, cipher, self._session_keys)
        except ValueError:
            raise self._error(
                f"segment {number} fails authentication: truncated or corrupt"
            ) from None
        self.segments = number
        self._plain = memoryview(self._segment)[:size]
        return True

    def _error(self, reason: str) -> SequenceFileError:
        return SequenceFileError(f"{self._source}: Crypt4GH: {reason}")


def load_private_key(path: str | Path, passphrase: str | None) -> bytes:
    """The X25519 secret key in a Crypt4GH or OpenSSH ed25519 private key file.

    Raises ValueError with the reason; the message never holds key material or passphrase.
    """
    asked = []

    def callback() -> str:
        asked.append(True)
        if passphrase is None:
            raise ValueError("passphrase needed")
        return passphrase

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # the library prints on failure
            key = get_private_key(str(path), callback)
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror})") from None
    except SystemExit:  # the library exits on a bad key or passphrase
        if asked:
            missing = passphrase is None
            raise ValueError(
                "the key needs a passphrase" if missing else "the passphrase does not open the key"
            ) from None
        raise ValueError("not a valid Crypt4GH or OpenSSH private key") from None
    except (ValueError, NotImplementedError):
        raise ValueError("not a Crypt4GH or OpenSSH private key (PEM)") from None
    if len(key) != 32:
        raise ValueError("not an X25519 private key (32 bytes)")
    return bytes(key)


class _HeaderStream:
    """What header.parse reads from: `head` first, then `stream`; reads fill up, bounded."""

    def __init__(self, stream, head: bytes) -> None:
        self._stream = stream
        self._head = head

    def read(self, size: int) -> bytes:
        if size > MAX_HEADER_READ:
            raise ValueError(f"header packet of {size:,} bytes")
        head, self._head = self._head[:size], self._head[size:]
        return head + _read_full(self._stream, size - len(head))

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_full(stream, size: int) -> bytes:
    """`size` bytes, fewer only at the end of `stream` (a network body may hand out less)."""
    parts, left = [], size
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def _kind(head: bytes) -> str:
    """What a stream that is not Crypt4GH looks like (never its bytes: they may name a sample)."""
    if head.startswith(b"\x1f\x8b"):
        return "a gzip stream: not encrypted?"
    if head.startswith(b"@"):
        return "FASTQ text: not encrypted?"
    if head.startswith(b"CRAM"):
        return "a CRAM: not encrypted?"
    return "empty" if not head else "unknown content"
