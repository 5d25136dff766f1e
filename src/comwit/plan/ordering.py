"""Never older over newer: is the commit this run deploys older than the live build's? Pure.

The live build's commit is the one the ledger recorded when comwit last made it live. The
local repository decides when it has both commits (the live one a descendant of ours means
ours is older); without that history, commit times decide.
"""

from __future__ import annotations

from comwit.plan.ledger import SourceCommit

ALLOW_OLDER = "--allow-older"


def older_than_live(
    ours: SourceCommit | None, live: SourceCommit | None, ancestor: bool | None
) -> str | None:
    """Why `ours` must not replace `live`, or None when it may.

    `ancestor`: whether the local repository shows `ours` is an ancestor of `live` (None:
    it does not have both commits).
    """
    if ours is None or live is None or ours.sha == live.sha:
        return None
    if ancestor is True:
        how = f"a descendant of this run's commit {ours.short}"
    elif ancestor is None and ours.time is not None and live.time is not None:
        if live.time <= ours.time:
            return None
        how = f"committed {live.time - ours.time} s after this run's commit {ours.short}"
    else:
        return None
    return f"live build comes from a newer commit {live.short} ({how})"


def skip_reason(why: str) -> str:
    return f"{why}; not replacing it with an older commit (pass {ALLOW_OLDER} to do it anyway)"
