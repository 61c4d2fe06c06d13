"""The batch manifest: what a lab announces it has landed in `{landing}/{COUNTRY}/{BATCH}/`.

The manifest (`manifest.json`) is written last by the uploader: a batch folder without one is
still arriving. Paths are relative to the batch folder; checksums are SHA-256 of the bytes as
landed (the compressed file for `.gz`, the encrypted file for Crypt4GH).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class FileKind(StrEnum):
    SEQUENCING = "sequencing"
    VARIANTS = "variants"
    INDEX = "index"
    CLINICAL = "clinical"


class FileFormat(StrEnum):
    FASTQ = "FASTQ"
    BAM = "BAM"
    CRAM = "CRAM"
    VCF = "VCF"
    BCF = "BCF"
    TBI = "TBI"
    CSI = "CSI"
    PHENOPACKET = "PHENOPACKET"
    CSV = "CSV"
    FHIR = "FHIR"


class Encryption(StrEnum):
    CRYPT4GH = "crypt4gh"  # GA4GH Crypt4GH, for the node's public key


class ManifestError(ValueError):
    """A manifest that cannot be trusted; the message names the file and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SampleEntry(_Strict):
    sample_id: str = Field(min_length=1, description="national sample id, as in the VCF header")
    reported_sex: Literal["female", "male", "unknown"] = "unknown"


class FileEntry(_Strict):
    path: str = Field(min_length=1)
    kind: FileKind
    format: FileFormat
    size: int = Field(ge=0)
    sha256: str
    sample_id: str | None = None
    read: Literal[1, 2] | None = None
    build: str | None = Field(default=None, description="reference build of a VCF/BAM/CRAM")
    encryption: Encryption | None = Field(default=None, description="how the file is encrypted")

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if not _SHA256.match(value):
            raise ValueError("sha256 must be 64 lower-case hex digits")
        return value

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("path must be relative to the batch folder, without '..'")
        return value

    @model_validator(mode="after")
    def _encrypted_sequencing_only(self) -> FileEntry:
        if self.encryption is not None and self.kind is not FileKind.SEQUENCING:
            raise ValueError("only sequencing files may be encrypted")
        return self


class Manifest(_Strict):
    manifest_version: Literal[1] = MANIFEST_VERSION
    country: str
    batch_id: str
    created: datetime
    reference_build: str = Field(description="build of the batch's variant calls")
    samples: list[SampleEntry] = Field(min_length=1)
    files: list[FileEntry] = Field(min_length=1)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not _COUNTRY.match(value):
            raise ValueError("country must be an ISO 3166-1 alpha-2 code in capitals")
        return value

    @field_validator("batch_id")
    @classmethod
    def _batch(cls, value: str) -> str:
        if not _BATCH_ID.match(value):
            raise ValueError("batch_id: letters, digits, '_', '.', '-' (at most 64)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        # entries are named by position, never by value: the message reaches the run log, and
        # sample ids (and the lab file names embedding them) must not
        sample_ids = [s.sample_id for s in self.samples]
        if duplicates := _repeats(sample_ids, "samples"):
            raise ValueError(f"duplicate sample ids: {duplicates}")
        if dup_paths := _repeats([f.path for f in self.files], "files"):
            raise ValueError(f"files listed twice: {dup_paths}")
        known = set(sample_ids)
        for i, entry in enumerate(self.files):
            if entry.sample_id is not None and entry.sample_id not in known:
                raise ValueError(f"files[{i}]: its sample_id is not in samples")
            if entry.kind is FileKind.SEQUENCING and entry.sample_id is None:
                raise ValueError(f"files[{i}]: a sequencing file needs a sample_id")
        return self

    def files_of(self, kind: FileKind) -> list[FileEntry]:
        return [f for f in self.files if f.kind is kind]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True)


def is_batch_id(value: str) -> bool:
    """A batch id is one plain folder name: letters, digits, '_', '.', '-', not starting '.'."""
    return bool(_BATCH_ID.match(value))


def _repeats(values: list[str], field: str) -> str:
    """`field[i] repeats field[j], ...` for every value seen before, by position only."""
    first: dict[str, int] = {}
    repeats = []
    for i, value in enumerate(values):
        if value in first:
            repeats.append(f"{field}[{i}] repeats {field}[{first[value]}]")
        else:
            first[value] = i
    return ", ".join(repeats)


def parse_manifest(raw: bytes | str, source: str) -> Manifest:
    """Parse and validate a manifest; `source` (its URI) is named in every error."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{source}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ManifestError(
            f"{source}: {where}: {first['msg']} ({exc.error_count()} problem(s))"
        ) from exc
