"""keel's policy pack: ``pulumi preview --policy-pack infra/policy``.

The rules live in ``keel.infra.policies`` so the mock tests run the same code.
"""

from pulumi_policy import PolicyPack

from keel.infra.policies import policies

PolicyPack(name="keel", policies=policies())
