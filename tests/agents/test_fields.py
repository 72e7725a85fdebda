"""Input fields take JSON's own types only, so the server accepts what the schema says."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import QueryDict

from keel.agents.demo import DemoInput
from keel.agents.serializers import RunListFilterSerializer


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        ({"prompt": "hi"}, True),
        ({"prompt": " "}, True),
        ({"prompt": "hi", "steps": 20, "step_delay": 0}, True),
        ({"prompt": "hi", "step_delay": 1.5}, True),
        ({"prompt": 0}, False),
        ({"prompt": ""}, False),
        ({"prompt": "nul\x00"}, False),
        ({"prompt": "hi", "steps": "3"}, False),
        ({"prompt": "hi", "steps": 3.0}, False),
        ({"prompt": "hi", "steps": True}, False),
        ({"prompt": "hi", "steps": 21}, False),
        ({"prompt": "hi", "step_delay": "0.5"}, False),
        ({"prompt": "hi", "step_delay": True}, False),
    ],
)
def test_the_demo_agents_input_is_strictly_typed(data: dict[str, Any], valid: bool) -> None:
    serializer = DemoInput(data=data)
    assert serializer.is_valid() is valid, serializer.errors


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("", set()),
        ("status=queued&agent=demo&page=2", set()),
        ("status=", {"status"}),
        ("agent=", {"agent"}),
        ("agent=%00", {"agent"}),
        ("page=", {"page"}),
        ("page=0", {"page"}),
        ("page=1.0", {"page"}),
        ("page=+1", {"page"}),
        ("page=x", {"page"}),
    ],
)
def test_run_list_filters_refuse_what_the_schema_refuses(query: str, errors: set[str]) -> None:
    serializer = RunListFilterSerializer(data=QueryDict(query))
    serializer.is_valid()
    assert set(serializer.errors) == errors
