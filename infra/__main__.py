"""keel's Pulumi program: read the stack's config, build keel, export what operators need.

Everything else lives in ``keel.infra`` (components, wiring, checks), where the mock
tests in ``infra/tests`` exercise it.
"""

import pulumi

from keel.infra.app import KeelApp
from keel.infra.config import StackConfig

config = StackConfig.from_pulumi(
    pulumi.Config("keel"), stack=pulumi.get_stack(), region=pulumi.Config("aws").get("region")
)
app = KeelApp("keel", config)

for name, value in app.outputs.items():
    pulumi.export(name, value)
