"""Retries with backoff for transient storage errors, and for nothing else.

`@retry_transient_storage` wraps an asset body (a generator). When the object store is briefly
unreachable the step raises `dagster.RetryRequested` and Dagster runs it again after an
exponential backoff with jitter; every other exception (a failed gate, bad data, a Delta commit
conflict, a bug) propagates unchanged and fails the step at once. When the retries are spent,
the step fails with `TransientStorageError` naming the last error's type and its message with
URLs cut to scheme and host. A retried attempt starts over: staging is cleared
by `PartitionPublisher.stage`, and a publish replaces the whole partition in one commit.

Transient, decided on the exception raised (not on its causes, so a domain error wrapping a
network failure stays a domain error):
- `ConnectionError` (refused, reset, aborted, broken pipe) and `TimeoutError`; polars' own
  reader raises `ConnectionRefusedError` when the endpoint is down;
- botocore's `EndpointConnectionError`, `ConnectTimeoutError`, `ConnectionClosedError`,
  `ReadTimeoutError`, `ResponseStreamingError` (a body cut mid-read);
- botocore's `ClientError` for throttling or a server error (codes in `_RETRYABLE_CODES`, HTTP
  500/502/503/504), never for 4xx such as NoSuchKey or AccessDenied;
- exactly `OSError` or `deltalake.exceptions.DeltaError` (none of their subclasses:
  `FileNotFoundError`, `PermissionError`, `CommitFailedError`, `TableNotFoundError`, ...) whose
  message reports a transport failure (`_TRANSPORT`: "error sending request", "connection
  refused/reset/closed", "timed out", a 500/502/503/504 or SlowDown answer); delta-rs (and
  polars through it) say only e.g. `OSError: Kernel error -> Generic S3 error: Error performing GET
  http://.. after 10 retries .. HTTP error: error sending request .. Connection refused`.

Settings, read when a step starts (a bad value fails it naming the variable):
`GDI_STORAGE_RETRIES` (3; 0 turns retries off) and `GDI_STORAGE_RETRY_DELAY` (2 s): the n-th
retry waits between half and all of min(delay * 2**(n-1), 60 s).
"""

import functools
import inspect
import math
import os
import random
import re
from collections.abc import Callable

import dagster as dg
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from deltalake.exceptions import DeltaError

from gdi_pipelines.config.errors import ConfigError

MAX_DELAY = 60.0
_TRANSIENT_TYPES = (
    ConnectionError,
    TimeoutError,
    EndpointConnectionError,
    ConnectTimeoutError,
    ConnectionClosedError,
    ReadTimeoutError,
    ResponseStreamingError,
)
_RETRYABLE_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
    | {"ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
_TRANSPORT = re.compile(
    r"error sending request|connection (?:refused|reset|closed)|timed out"
    r"|\b(?:500 Internal Server Error|502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout"
    r"|SlowDown)\b",
    re.IGNORECASE,
)
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://[^/\s\"'()<>]+)[^\s\"'()<>]*", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class TransientStorageError(Exception):
    """What a retry reports: the error's type and redacted message (no paths, no queries)."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error.get("Code") in _RETRYABLE_CODES or status in (500, 502, 503, 504)
    if type(exc) in (OSError, DeltaError):
        return bool(_TRANSPORT.search(str(exc)))
    return False


def describe(exc: BaseException, limit: int = 300) -> str:
    """`Type: message` on one line; URLs cut to scheme and host (object keys may carry lab
    file names, presigned URLs carry signatures)."""
    text = " ".join(_ANSI.sub("", str(exc)).replace("↳", " ").split())
    text = _URL.sub(r"\1/…", text)
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def backoff_seconds(
    retry_number: int, delay: float, random_fraction: Callable[[], float] = random.random
) -> float:
    """Equal jitter: between half and all of min(delay * 2**retry_number, MAX_DELAY)."""
    ceiling = min(MAX_DELAY, delay * 2.0 ** min(retry_number, 32))
    return ceiling / 2 + random_fraction() * ceiling / 2


def retry_settings(environ=None) -> tuple[int, float]:
    """(retries, delay) from GDI_STORAGE_RETRIES and GDI_STORAGE_RETRY_DELAY."""
    env = os.environ if environ is None else environ
    settings = []
    for name, default, kind in (
        ("GDI_STORAGE_RETRIES", "3", int),
        ("GDI_STORAGE_RETRY_DELAY", "2", float),
    ):
        raw = env.get(name) or default
        try:
            value = kind(raw)
        except ValueError:
            value = -1
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{name}: {raw!r} is not a non-negative {kind.__name__}")
        settings.append(value)
    return settings[0], settings[1]


def retry_transient_storage(body):
    """Decorate an asset body (below `@dg.asset`); Dagster still sees its parameters."""
    if not inspect.isgeneratorfunction(body):
        raise TypeError(f"{body.__name__}: retry_transient_storage wraps generator asset bodies")

    @functools.wraps(body)
    def with_retries(*args, **kwargs):
        context = args[0] if args else kwargs["context"]
        retries, delay = retry_settings()
        try:
            yield from body(*args, **kwargs)
            return
        except Exception as exc:
            if not is_transient(exc):
                raise
            reason = describe(exc)
            if context.retry_number >= retries:
                # the original message names object keys (lab file names): report it redacted
                raise TransientStorageError(f"{retries} retries spent: {reason}") from None
        wait = backoff_seconds(context.retry_number, delay)
        context.log.warning(
            f"transient storage error, retry {context.retry_number + 1} of {retries} "
            f"in {wait:.1f} s: {reason}"
        )
        # raised outside the except block: the event log gets the redacted reason only
        raise dg.RetryRequested(max_retries=retries, seconds_to_wait=wait) from (
            TransientStorageError(reason)
        )

    return with_retries
