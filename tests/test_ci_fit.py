"""Markdown fitted to a size limit: asked again for less while it is more, secrets scrubbed."""

from __future__ import annotations

from comwit.ci.fit import fit
from comwit.secret import HIDDEN, Secret


def test_a_comment_still_fits_when_hiding_secrets_makes_it_longer():
    Secret("zq7x")  # shorter than "<hidden>": hiding it adds 4 characters each time
    text = fit(lambda budget: ("ab zq7x " * budget)[:budget], 1000, len)
    assert text is not None and len(text) <= 1000
    assert "zq7x" not in text and HIDDEN in text
