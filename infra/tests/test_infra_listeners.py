"""The ALB's listeners and production rule never move, so no certificate or domain change
puts two listeners on one port or recreates the rule ECS's deployments rewrite.

There is no HTTP-only stack to add a certificate to: the configuration refuses one
(test_infra_config.py), because keel redirects everything but /healthz to HTTPS. What
remains is changing the certificate or the domains of a stack. The AWS provider replaces
a listener only when its load balancer changes and a listener rule only when its
listener changes (``ForceNew`` on ``load_balancer_arn`` and ``listener_arn``,
terraform-provider-aws ``internal/service/elbv2/listener.go`` and ``listener_rule.go``,
docs/adr/0006-first-deploy.md); a recreated rule would start at the program's weights
(all traffic to target group A) even after a canary made B the live one.
"""

from __future__ import annotations

from keel_infra_mocks import CERTIFICATE_ARN, DOMAIN, Deployment, deploy, dev_config, web_config
from pulumi_engine import engine_urns

LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
#: The inputs whose change makes the provider replace (delete and create) the resource.
REPLACED_ON = {LISTENER: ("loadBalancerArn",), RULE: ("listenerArn",)}
RENEWED = CERTIFICATE_ARN.replace("11111111", "99999999")


def by_name(deployment: Deployment, resource_type: str) -> dict:
    return {resource.name: resource for resource in deployment.of_type(resource_type)}


def test_one_listener_per_port_and_the_rule_on_https(dev: Deployment):
    listeners = by_name(dev, LISTENER)
    (rule,) = dev.of_type(RULE)

    assert {name: r.inputs["port"] for name, r in listeners.items()} == {
        "https": 443,
        "http-redirect": 80,
    }
    assert listeners["https"].inputs["certificateArn"] == CERTIFICATE_ARN
    assert listeners["http-redirect"].inputs["defaultActions"][0]["type"] == "redirect"
    # The rule's listenerArn is the HTTPS listener's output.
    assert rule.property_dependencies["listenerArn"] == (listeners["https"].urn,)
    assert rule.inputs["listenerArn"].endswith("aws:lb/listener:Listener/https")


def test_a_new_certificate_or_domain_updates_the_listeners_in_place(dev: Deployment):
    changed = deploy(
        dev_config(
            web=web_config(certificate_arn=RENEWED, domain_names=(DOMAIN, "keel.example.com"))
        )
    )

    for resource_type, keys in REPLACED_ON.items():
        before, after = by_name(dev, resource_type), by_name(changed, resource_type)
        assert set(engine_urns(dev).get(r.urn) for r in before.values()) == set(
            engine_urns(changed).get(r.urn) for r in after.values()
        ), "a listener or rule was renamed: Pulumi would create one before deleting the other"
        for name, resource in before.items():
            for key in keys:
                assert after[name].inputs[key] == resource.inputs[key], f"{name} would be replaced"
    https_before = by_name(dev, LISTENER)["https"].inputs
    https_after = by_name(changed, LISTENER)["https"].inputs
    assert {key for key in https_after if https_after[key] != https_before.get(key)} == {
        "certificateArn"
    }
    assert by_name(changed, RULE)["production"].inputs == by_name(dev, RULE)["production"].inputs


def test_the_listener_names_are_those_of_the_seeds_https_stacks(prod: Deployment):
    """A stack deployed with a certificate before keeps its listeners: no diff, no move."""
    assert set(by_name(prod, LISTENER)) == {"https", "http-redirect"}
    assert set(by_name(prod, RULE)) == {"production"}
