"""Crypt4GH-encrypted reads: decrypted as a stream, in memory, and measured as the plain file."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from crypt4gh import CIPHER_SEGMENT_SIZE, SEGMENT_SIZE

from gdi_pipelines.domain.sequencing import (
    Crypt4GHReader,
    SequenceFileError,
    load_private_key,
    measure_sequencing_file,
)
from gdi_pipelines_tests.domain.crypt4gh_files import encrypt, make_keypair
from gdi_pipelines_tests.domain.streams import OnlyRead
from gdi_pipelines_tests.domain.test_sequencing_alignment_qc import write_alignments

READS = Path(__file__).resolve().parents[1] / "data" / "reads"
R1 = READS / "ERR127302_1_subset.fastq.gz"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def node_key(tmp_path_factory) -> tuple[bytes, bytes]:
    """The node's secret key (as loaded from its passphrase-protected file) and public key."""
    seckey_file, pubkey = make_keypair(tmp_path_factory.mktemp("keys"), "node", PASSPHRASE)
    return load_private_key(seckey_file, PASSPHRASE), pubkey


class Counting(OnlyRead):
    """OnlyRead that also tells how many bytes were taken from it."""

    @property
    def consumed(self) -> int:
        return self._data.tell()


@pytest.mark.parametrize("path", sorted(READS.glob("*.fastq.gz")), ids=lambda p: p.name)
def test_encrypted_fastq_decrypts_to_the_plain_bytes_and_measures_the_same(node_key, path):
    seckey, pubkey = node_key
    plain = path.read_bytes()
    encrypted = encrypt(plain, pubkey)
    assert encrypted.startswith(b"crypt4gh") and plain not in encrypted
    assert Crypt4GHReader(OnlyRead(encrypted), seckey, path.name).read() == plain
    measured = measure_sequencing_file(
        OnlyRead(encrypted), path.name, "FASTQ", crypt4gh_seckey=seckey
    )
    assert measured.stats == measure_sequencing_file(OnlyRead(plain), path.name, "FASTQ").stats
    assert measured.size == len(encrypted)  # the manifest's figures are of the file as landed
    assert measured.sha256 == hashlib.sha256(encrypted).hexdigest()


@pytest.mark.parametrize("kind", ["bam", "cram"])
def test_encrypted_alignments_measure_the_same(node_key, tmp_path, kind):
    seckey, pubkey = node_key
    paths = write_alignments(tmp_path)
    plain = paths[kind].read_bytes()
    ref = str(paths["ref"])
    measured = measure_sequencing_file(
        OnlyRead(encrypt(plain, pubkey)), kind, kind.upper(), ref, crypt4gh_seckey=seckey
    )
    assert measured.stats == measure_sequencing_file(OnlyRead(plain), kind, kind, ref).stats


def test_the_decryptor_reads_one_segment_at_a_time(node_key):
    seckey, pubkey = node_key
    plain = R1.read_bytes()
    assert len(plain) > 20 * SEGMENT_SIZE
    source = Counting(encrypt(plain, pubkey))
    tracemalloc.start()
    try:
        reader = Crypt4GHReader(source, seckey, "R1")
        header = source.consumed
        out, buffer = 0, bytearray(5000)  # not a divisor of the segment size
        while count := reader.readinto(buffer):
            out += count
            assert source.consumed <= header + (out // SEGMENT_SIZE + 1) * CIPHER_SEGMENT_SIZE
            assert source.consumed - header <= out + 2 * CIPHER_SEGMENT_SIZE
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out == len(plain) and reader.segments == -(-len(plain) // SEGMENT_SIZE)
    assert source.largest_request <= CIPHER_SEGMENT_SIZE
    assert peak < 4 * CIPHER_SEGMENT_SIZE, f"{peak:,} bytes held for a {len(plain):,}-byte file"


class _Writes:
    """Every file Python opens for writing while `active` (an audit hook cannot be removed)."""

    active = False
    seen: list[str] = []  # noqa: RUF012

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if cls.active and event == "open":
            path, mode, flags = args
            writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND
            if (mode and set(str(mode)) & set("wax+")) or (flags or 0) & writing:
                cls.seen.append(str(path))


sys.addaudithook(_Writes.hook)


def test_no_plaintext_is_written_anywhere(node_key, tmp_path, monkeypatch):
    seckey, pubkey = node_key
    landing, scratch = tmp_path / "landing" / "SE" / "b001" / "reads", tmp_path / "tmp"
    landing.mkdir(parents=True)
    scratch.mkdir()
    (landing / "SE-LAB-1_R1.fastq.gz.c4gh").write_bytes(encrypt(R1.read_bytes(), pubkey))
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # so tempfile reads TMPDIR again
    assert tempfile.gettempdir() == str(scratch)
    _Writes.seen.clear()
    _Writes.active = True
    try:
        with (landing / "SE-LAB-1_R1.fastq.gz.c4gh").open("rb") as stream:
            measured = measure_sequencing_file(stream, "R1", "FASTQ", crypt4gh_seckey=seckey)
    finally:
        _Writes.active = False
    assert measured.stats.read_count > 0
    assert _Writes.seen == []
    assert list(scratch.iterdir()) == []
    assert [p.name for p in (tmp_path / "landing").rglob("*") if p.is_file()] == [
        "SE-LAB-1_R1.fastq.gz.c4gh"
    ]


def test_a_file_for_another_recipient_is_refused_naming_it(node_key, tmp_path):
    seckey, _ = node_key
    _, other_pubkey = make_keypair(tmp_path, "other-node")
    encrypted = encrypt(R1.read_bytes(), other_pubkey)
    with pytest.raises(SequenceFileError) as error:
        measure_sequencing_file(OnlyRead(encrypted), "s3://l/SE/b1/R1.c4gh", "FASTQ", None, seckey)
    assert str(error.value) == (
        "s3://l/SE/b1/R1.c4gh: Crypt4GH: no header packet opens with the node's private key "
        "(encrypted for another recipient?)"
    )


def _truncated_in_a_segment(data: bytes) -> bytes:
    return data[: len(data) - 10]


def _truncated_in_the_header(data: bytes) -> bytes:
    return data[:100]


def _flipped_bit(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]


def _cut_at_a_segment_boundary(data: bytes) -> bytes:  # Crypt4GH cannot tell: gzip does
    return data[: len(data) - (len(data) - 124) % CIPHER_SEGMENT_SIZE - CIPHER_SEGMENT_SIZE]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_truncated_in_a_segment, r"Crypt4GH: segment 22 fails authentication: truncated or"),
        (_truncated_in_the_header, r"Crypt4GH: truncated or corrupt header"),
        (_flipped_bit, r"Crypt4GH: segment 11 fails authentication"),
        (_cut_at_a_segment_boundary, r"truncated gzip stream"),
    ],
)
def test_damaged_files_are_refused_naming_them(node_key, damage, reason):
    seckey, pubkey = node_key
    encrypted = encrypt(R1.read_bytes(), pubkey)
    assert len(encrypted) - len(R1.read_bytes()) == 124 + 22 * 28  # header, 22 nonces and MACs
    with pytest.raises(SequenceFileError, match=rf"^R1\.c4gh: {reason}"):
        measure_sequencing_file(OnlyRead(damage(encrypted)), "R1.c4gh", "FASTQ", None, seckey)


def test_plain_and_encrypted_files_mistaken_for_each_other(node_key):
    seckey, pubkey = node_key
    plain = R1.read_bytes()
    with pytest.raises(SequenceFileError, match=r"^R1: Crypt4GH: declared encrypted but no "):
        measure_sequencing_file(OnlyRead(plain), "R1", "FASTQ", crypt4gh_seckey=seckey)
    with pytest.raises(SequenceFileError, match=r"^R1: Crypt4GH-encrypted, but not declared"):
        measure_sequencing_file(OnlyRead(encrypt(plain, pubkey)), "R1", "FASTQ")
    with pytest.raises(SequenceFileError, match=r"^R1: empty file \(0 bytes\)"):
        measure_sequencing_file(OnlyRead(b""), "R1", "FASTQ", crypt4gh_seckey=seckey)


def test_private_key_files_and_passphrases(tmp_path):
    locked, _ = make_keypair(tmp_path, "locked", PASSPHRASE)
    unlocked, _ = make_keypair(tmp_path, "unlocked")
    assert len(load_private_key(locked, PASSPHRASE)) == len(load_private_key(unlocked, None)) == 32
    for path, passphrase, reason in [
        (locked, None, "the key needs a passphrase"),
        (locked, "wrong", "the passphrase does not open the key"),
        (tmp_path / "locked.pub", None, "not a Crypt4GH or OpenSSH private key"),
        (tmp_path / "absent.sec", None, "cannot be read (No such file or directory)"),
    ]:
        with pytest.raises(ValueError) as error:
            load_private_key(path, passphrase)
        assert str(error.value).startswith(reason)
        assert PASSPHRASE not in str(error.value)
