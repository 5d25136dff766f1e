"""Doctor, the result: one finding per check, `ok`, `differs: ...` or `unknown`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from comwit.frozen import frozen

State = Literal["ok", "differs", "unknown"]


@frozen(order=True)
class Finding:
    """One check: what was checked, its state, and what was seen (for differs/unknown: why).
    `needed`: a difference here stops comwit working (else it copes, and says how)."""

    check: str
    state: State
    detail: str = ""
    needed: bool = True

    def line(self) -> str:
        if self.state == "differs":
            return f"{self.check}: differs: {self.detail}"
        return f"{self.check}: {self.state}" + (f" ({self.detail})" if self.detail else "")


def ok(check: str, detail: str = "") -> Finding:
    return Finding(check, "ok", detail)


def differs(check: str, detail: str, *, needed: bool = True) -> Finding:
    return Finding(check, "differs", detail, needed)


def unknown(check: str, detail: str) -> Finding:
    return Finding(check, "unknown", detail)


def failed(findings: Iterable[Finding]) -> bool:
    """Whether anything comwit needs is missing or different."""
    return any(f.state == "differs" and f.needed for f in findings)
