"""``keel.infra.outputs``: a placeholder for a skipped create's ``None``, and only for it.

The targeted replay in ``test_infra_deploy_docs.py`` shows the program finishing; these
show what a full ``up`` keeps: present values, empty or falsy ones too, reach the
callback, so its checks still fail where they should.
"""

from __future__ import annotations

import pytest

from keel.infra.database import _secret_arn
from keel.infra.outputs import when_created


@pytest.mark.parametrize(
    "value",
    [None, ["keel.example.com", None], [["subnet-a", None], "sg-a"], {"dns_name": None}],
    ids=["none", "in-a-list", "in-a-nested-list", "in-a-dict"],
)
def test_a_none_anywhere_in_what_output_all_builds_answers_the_placeholder(value: object):
    def callback(value: object) -> str:
        raise AssertionError(f"called with {value!r}")

    assert when_created(callback, otherwise="placeholder")(value) == "placeholder"


@pytest.mark.parametrize("value", [[], "", 0, ["", ""], {"port": 0}])
def test_present_values_reach_the_callback_even_when_empty_or_falsy(value: object):
    assert when_created(repr, otherwise="placeholder")(value) == repr(value)


def test_rds_reporting_no_secret_still_fails_a_full_up():
    with pytest.raises(ValueError, match="RDS reported no managed master-user secret"):
        when_created(_secret_arn, otherwise="")([])
