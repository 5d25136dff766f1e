"""Preview app names: valid DNS labels, stable, distinct, always naming the pull request."""

from __future__ import annotations

import pytest

from comwit.api.assumed import APP_NAME
from comwit.preview.names import MAX_PR, preview_name

LONG = "a" * 63
NAMES = ["web", "api", "x", LONG, "b" * 40 + "-" + "c" * 22, "front-end-" * 5 + "x"]
PRS = [1, 7, 99999, 123456789, MAX_PR]


@pytest.mark.parametrize("app", NAMES)
@pytest.mark.parametrize("pr", PRS)
def test_every_name_is_a_valid_app_name_of_at_most_63_characters_ending_in_the_pr(app, pr):
    name = preview_name(app, pr)
    assert APP_NAME.fullmatch(name), name
    assert len(name) <= 63
    assert name.endswith(f"-pr-{pr}")


def test_short_names_are_app_pr_n():
    assert preview_name("web", 7) == "web-pr-7"


def test_names_are_stable_and_distinct_across_apps_and_pull_requests():
    longer = [LONG, "a" * 62 + "b", "a" * 62 + "c", "a" * 70]
    names = {(app, pr): preview_name(app, pr) for app in longer + NAMES for pr in PRS}
    assert len(set(names.values())) == len(names)
    assert names == {(app, pr): preview_name(app, pr) for app in longer + NAMES for pr in PRS}


def test_a_shortened_name_keeps_the_app_names_start():
    assert preview_name("checkout-" + "x" * 60, 42).startswith("checkout-")


@pytest.mark.parametrize("pr", [0, -1, MAX_PR + 1])
def test_a_pull_request_number_out_of_range_is_refused(pr):
    with pytest.raises(ValueError, match="out of range"):
        preview_name("web", pr)
