"""The outcome of one quality check on staged data, independent of any orchestrator."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "ERROR"  # blocking: the partition is not published
    WARN = "WARN"  # reported, publication goes on


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    severity: Severity
    description: str
    figures: dict[str, float | int | str] = field(default_factory=dict)
    failures: tuple[str, ...] = ()  # one line per failing item: file, line/record, reason

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity is Severity.ERROR


def blocking_failures(outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    return [o for o in outcomes if o.blocks]


def outcome(
    checks: tuple[tuple[str, Severity, str], ...], name: str, failures: list[str], **figures
) -> CheckOutcome:
    """The outcome of check `name` as declared in `checks` (name, severity, description):
    passed when there are no failures."""
    severity, description = next((s, d) for n, s, d in checks if n == name)
    return CheckOutcome(name, not failures, severity, description, figures, tuple(failures))
