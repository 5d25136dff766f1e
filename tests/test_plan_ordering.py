"""The ordering guard's decision: history first, commit times when history cannot tell."""

from __future__ import annotations

import pytest

from comwit.plan.ledger import SourceCommit
from comwit.plan.ordering import older_than_live

OURS = SourceCommit("a" * 40, 1_000)
NEWER = SourceCommit("b" * 40, 1_600)
OLDER = SourceCommit("c" * 40, 400)


@pytest.mark.parametrize(
    ("ours", "live", "ancestor", "expected"),
    [
        (OURS, NEWER, True, "live build comes from a newer commit bbbbbbb (a descendant of "
         "this run's commit aaaaaaa)"),
        (OURS, NEWER, False, None),  # ours is a descendant, or the branches diverged
        (OURS, NEWER, None, "live build comes from a newer commit bbbbbbb (committed 600 s "
         "after this run's commit aaaaaaa)"),
        (OURS, OLDER, None, None),
        (OURS, SourceCommit("b" * 40), None, None),  # no time to compare: let it through
        (OURS, OURS, True, None),
        (None, NEWER, None, None),
        (OURS, None, None, None),
    ],
)  # fmt: skip
def test_older_than_live(ours, live, ancestor, expected):
    assert older_than_live(ours, live, ancestor) == expected


def test_a_dirty_commit_is_named_so():
    dirty = SourceCommit("d" * 40, 2_000, dirty=True)
    why = older_than_live(OURS, dirty, True)
    assert why is not None and "newer commit ddddddd+dirty" in why
