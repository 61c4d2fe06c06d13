"""Getting text out of what a reader is given: a path, bytes, or an open stream."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from gdi_pipelines.domain.clinical.model import ClinicalFormatError

SourceData = str | os.PathLike[str] | bytes | IO[bytes] | IO[str]  # a str is a path


def read_bytes(data: SourceData) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str | os.PathLike):
        return Path(data).read_bytes()
    content = data.read()
    return content.encode() if isinstance(content, str) else content


def read_text(data: SourceData, source: str) -> str:
    try:
        return read_bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ClinicalFormatError(f"{source}: not UTF-8 text (byte {err.start})") from err


def load_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ClinicalFormatError(
            f"{source}: line {err.lineno} column {err.colno}: not valid JSON: {err.msg}"
        ) from err
