"""Results of one GX expectation over the whole table, and their CheckOutcome per suite entry.

A `Decision` holds a GX-shaped `result` dict (element_count, unexpected_count, ... for row-level
expectations; observed_value for table-level ones) so that Data Docs can render it as GX would.
Row-level results arrive chunk by chunk from GX (or from polars, per table or per chunk) and are
summed by a `MapTally`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from gdi_pipelines.domain.expectations.suites import ExpectationSpec, label_of
from gdi_pipelines.domain.quality import CheckOutcome

MAX_EXAMPLES = 20  # values kept in partial_unexpected_list, as GX's partial_unexpected_count
MAX_LISTED = 20  # failing expectations of one entry spelled out in figures and failures
COUNTS = ("element_count", "missing_count", "unexpected_count")


@dataclass
class Decision:
    kwargs: dict[str, Any]  # of this one GX expectation, parameters resolved
    success: bool
    result: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    engine: str = "polars"  # "gx": GX on pandas chunks; "polars": polars on the whole table


@dataclass
class MapTally:
    """Counts of one row-level GX expectation, summed over the chunks (or the one whole table)
    it ran on by `engine`: "gx" (pandas chunks) or "polars" (pushdown.py)."""

    expectation: str
    kwargs: dict[str, Any]
    engine: str = "gx"
    element_count: int = 0
    missing_count: int = 0
    unexpected_count: int = 0
    examples: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, result: dict[str, Any]) -> None:
        self.element_count += int(result.get("element_count") or 0)
        self.missing_count += int(result.get("missing_count") or 0)
        self.unexpected_count += int(result.get("unexpected_count") or 0)
        room = MAX_EXAMPLES - len(self.examples)
        self.examples += [plain(v) for v in (result.get("partial_unexpected_list") or [])[:room]]

    def add_error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)

    def decision(self) -> Decision:
        considered = self.element_count - self.missing_count
        percent = 100 * self.unexpected_count / considered if considered else 0.0
        mostly = self.kwargs.get("mostly", 1)
        # GX's rule: a success share of at least `mostly` among the non-missing values
        success = considered == 0 or (considered - self.unexpected_count) / considered >= mostly
        result = {
            "element_count": self.element_count,
            "missing_count": self.missing_count,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": percent,
            "partial_unexpected_list": self.examples,
        }
        where = f"{self.expectation} on {label_of(self.kwargs)}"
        failures = [f"{where}: could not be evaluated: {e}" for e in self.errors]
        if not success:
            failures.append(
                f"{where}: {self.unexpected_count} of {considered} values unexpected "
                f"({percent:.4g}%), e.g. {_examples(self.examples)}"
            )
        return Decision(self.kwargs, success and not self.errors, result, failures, self.engine)


def outcome(spec: ExpectationSpec, decisions: list[Decision], **extra: str) -> CheckOutcome:
    """One CheckOutcome per suite entry, whatever number of GX expectations it stands for."""
    failed = [d for d in decisions if not d.success]
    figures: dict[str, float | int | str] = {
        "expectation": spec.expectation,
        "engine": decisions[0].engine if decisions else "none",
    }
    if len(decisions) == 1:
        figures |= flat_figures(decisions[0].result)
    else:
        figures |= {"checked": len(decisions), "failed": len(failed)}
        if decisions and all("element_count" in d.result for d in decisions):
            figures |= {k: sum(d.result[k] for d in decisions) for k in COUNTS}
            considered = figures["element_count"] - figures["missing_count"]
            figures["unexpected_percent"] = (
                100 * figures["unexpected_count"] / considered if considered else 0.0
            )
        for d in failed[:MAX_LISTED]:
            label = label_of(d.kwargs)
            figures |= {f"{label}.{k}": v for k, v in flat_figures(d.result).items()}
    figures |= extra
    failures = tuple(line for d in failed[:MAX_LISTED] for line in d.failures)
    if len(failed) > MAX_LISTED:
        failures += (f"... and {len(failed) - MAX_LISTED} more failing columns",)
    return CheckOutcome(spec.name, not failed, spec.severity, spec.description, figures, failures)


def flat_figures(result: dict[str, Any]) -> dict[str, float | int | str]:
    """Scalars as they are, lists and dicts as JSON text, None left out."""
    flat: dict[str, float | int | str] = {}
    for key, value in result.items():
        if value is None:
            continue
        if isinstance(value, bool):
            flat[key] = int(value)
        elif isinstance(value, int | float | str):
            flat[key] = value
        else:
            flat[key] = json.dumps(value, default=str)
    return flat


def plain(value: Any) -> Any:
    """A JSON-friendly value from what GX puts in partial_unexpected_list (numpy, NaN, tuples)."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else value
    if value is None or isinstance(value, int | str | bool):
        return value
    return str(value)


def _examples(values: list[Any]) -> str:
    shown = ", ".join(json.dumps(v, default=str) for v in values[:5])
    return f"[{shown}{', ...' if len(values) > 5 else ''}]"
