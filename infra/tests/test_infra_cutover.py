"""Routes cut over from Lambda by weight: their rules, target groups, permission and lookups.

What is proven here on the graph the program registers (preview=False, so every ARN
is known): each route's rule has the configured weights and is not the production
rule; ECS cannot write to it (no service names it or its target groups in an
``advancedConfiguration``; the one service that registers its keel target group deploys
by rolling update; ECS's role is denied every write to it); the Lambda permission names
only the route's new target group; the existing functions are only looked up.
"""

from __future__ import annotations

import json

import pytest
from keel_infra_mocks import (
    ACCOUNT,
    CUTOVER_ROUTES,
    REGION,
    RUNBOOK_BASE_URL,
    Deployment,
    Recorded,
    cutover_config,
    deploy,
    stack_config_from,
)

from keel import constants
from keel.infra import policies
from keel.infra.cutover_config import (
    LAMBDA_ONLY_PRIORITY_OFFSET,
    PRODUCTION_RULE_PRIORITY,
    CutoverConfig,
    CutoverRoute,
)

RULE = "aws:lb/listenerRule:ListenerRule"
METRICS = "KEEL_METRICS_SERVICE"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SERVICE = "aws:ecs/service:Service"
PERMISSION = "aws:lambda/permission:Permission"
ATTACHMENT = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GET_FUNCTION = "aws:lambda/getFunction:getFunction"
ROUTES = {route.name: route for route in CUTOVER_ROUTES}


def tagged(deployment: Deployment, kind: str, route: str) -> list[Recorded]:
    return [
        resource
        for resource in deployment.of_type(kind)
        if resource.inputs.get("tags", {}).get(constants.CUTOVER_ROUTE_TAG) == route
    ]


def side(deployment: Deployment, route: str, which: str) -> Recorded:
    (group,) = [
        group
        for group in tagged(deployment, TARGET_GROUP, route)
        if group.inputs["tags"][constants.CUTOVER_SIDE_TAG] == which
    ]
    return group


def rule_of(deployment: Deployment, route: str) -> Recorded:
    (rule,) = tagged(deployment, RULE, route)
    return rule


def forward(rule: Recorded) -> dict[str, int]:
    (action,) = rule.inputs["actions"]
    assert action["type"] == "forward"
    return {group["arn"]: group["weight"] for group in action["forward"]["targetGroups"]}


def arn(resource: Recorded) -> str:
    return resource.outputs["arn"]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_route_has_a_rule_with_the_configured_weights(cutover: Deployment, route: str):
    config = ROUTES[route]
    rule = rule_of(cutover, route)
    lambda_group = side(cutover, route, constants.CUTOVER_SIDE_LAMBDA)
    keel_group = side(cutover, route, constants.CUTOVER_SIDE_KEEL)

    assert forward(rule) == {
        arn(lambda_group): 100 - config.keel_percent,
        arn(keel_group): config.keel_percent,
    }
    assert rule.inputs["priority"] == config.priority
    conditions = {
        key: value["values"] for c in rule.inputs["conditions"] for key, value in c.items()
    }
    expected = {"pathPattern": list(config.paths)} if config.paths else {}
    expected |= {"hostHeader": list(config.hosts)} if config.hosts else {}
    assert conditions == expected
    assert lambda_group.inputs["targetType"] == "lambda"
    assert keel_group.inputs["targetType"] == "ip"
    assert keel_group.inputs["port"] == constants.PORT


def test_cutover_rules_are_on_the_https_listener_ahead_of_the_production_rule(
    cutover: Deployment,
):
    production = cutover.one(RULE, "production")
    (https,) = [
        listener
        for listener in cutover.of_type("aws:lb/listener:Listener")
        if listener.inputs["port"] == 443
    ]

    assert production.inputs["priority"] == PRODUCTION_RULE_PRIORITY
    for route in ROUTES:
        rule = rule_of(cutover, route)
        assert rule.inputs["listenerArn"] == arn(https)
        # ALB evaluates rules from the lowest number: a route's rule before the catch-all.
        assert rule.inputs["priority"] < production.inputs["priority"]


def test_no_cutover_rule_is_or_shares_the_production_rule(cutover: Deployment):
    production = cutover.one(RULE, "production")
    web_groups = {arn(cutover.one(TARGET_GROUP, name)) for name in ("web-a", "web-b")}
    cutover_rules = [rule_of(cutover, route) for route in ROUTES]

    assert set(forward(production)) == web_groups
    assert production.inputs["tags"]["keel:listener-rule"] == "production"
    for rule in cutover_rules:
        assert rule.urn != production.urn
        assert constants.CUTOVER_ROUTE_TAG not in production.inputs["tags"]
        assert "keel:listener-rule" not in rule.inputs["tags"]
        assert not set(forward(rule)) & web_groups
    (web,) = [s for s in cutover.of_type(SERVICE) if s.inputs["name"] == "keel-dev-web"]
    (balancer,) = web.inputs["loadBalancers"]
    advanced = balancer["advancedConfiguration"]
    assert advanced["productionListenerRule"] == arn(production)
    assert {balancer["targetGroupArn"], advanced["alternateTargetGroupArn"]} == web_groups


def test_ecs_cannot_write_to_a_cutover_rule_or_swap_its_target_groups(cutover: Deployment):
    cutover_rules = {arn(rule_of(cutover, route)) for route in ROUTES}
    keel_groups = {arn(side(cutover, route, constants.CUTOVER_SIDE_KEEL)) for route in ROUTES}
    services = cutover.of_type(SERVICE)

    # No service hands ECS a cutover rule or target group to manage.
    for service in services:
        for balancer in service.inputs.get("loadBalancers") or []:
            advanced = balancer.get("advancedConfiguration") or {}
            assert not {
                advanced.get("productionListenerRule"),
                advanced.get("testListenerRule"),
            } & (cutover_rules)
            assert advanced.get("alternateTargetGroupArn") not in keel_groups
    # The keel side is registered by exactly one service, the rolling cutover service.
    registering = [
        service
        for service in services
        if {b["targetGroupArn"] for b in service.inputs.get("loadBalancers") or []} & keel_groups
    ]
    assert [service.inputs["name"] for service in registering] == ["keel-dev-web-cutover"]
    (cutover_service,) = registering
    assert cutover_service.inputs["deploymentConfiguration"] == {"strategy": "ROLLING"}
    assert {b["targetGroupArn"] for b in cutover_service.inputs["loadBalancers"]} == keel_groups
    assert all("advancedConfiguration" not in b for b in cutover_service.inputs["loadBalancers"])
    # ECS's load-balancer role is denied every write to the cutover rules, by exact ARN.
    (deny,) = [
        policy
        for policy in cutover.of_type("aws:iam/rolePolicy:RolePolicy")
        if policy.inputs["name"] == "keel-ecs-keeps-off-cutover-rules"
    ]
    ecs_role = next(
        role
        for role in cutover.of_type("aws:iam/role:Role")
        if role.inputs["name"] == "keel-dev-ecs-load-balancer"
    )
    (statement,) = json.loads(deny.inputs["policy"])["Statement"]
    assert deny.inputs["role"] == ecs_role.inputs["name"]
    assert statement["Effect"] == "Deny"
    assert set(statement["Action"]) >= {"elasticloadbalancing:ModifyRule"}
    assert set(statement["Resource"]) == cutover_rules


def test_the_cutover_service_runs_the_web_role_as_the_web_service_does(cutover: Deployment):
    """Its own task definition, the web one but for its metrics' Service."""
    (web,) = [s for s in cutover.of_type(SERVICE) if s.inputs["name"] == "keel-dev-web"]
    (sibling,) = [s for s in cutover.of_type(SERVICE) if s.inputs["name"] == "keel-dev-web-cutover"]
    alarms = {alarm.inputs["name"] for route in ROUTES for alarm in tagged(cutover, ALARM, route)}
    web_container = cutover.container_definitions("keel-dev-web")
    sibling_container = cutover.container_definitions("keel-dev-web-cutover")

    assert sibling.inputs["taskDefinition"].endswith("task-definition/keel-dev-web-cutover:1")
    assert sibling.inputs["networkConfiguration"] == web.inputs["networkConfiguration"]
    assert set(sibling.inputs["alarms"]["alarmNames"]) == alarms
    assert sibling.inputs["alarms"]["rollback"] is True
    assert len(cutover.of_type("aws:ecs/taskDefinition:TaskDefinition")) == 4

    def without_service(container: dict) -> dict:
        return {
            **container,
            "environment": [e for e in container["environment"] if e["name"] != METRICS],
        }

    assert without_service(sibling_container) == without_service(web_container)
    services = {
        name: next(e["value"] for e in container["environment"] if e["name"] == METRICS)
        for name, container in (("web", web_container), ("sibling", sibling_container))
    }
    assert services == {"web": "keel-dev-web", "sibling": "keel-dev-web-cutover"}
    preflight = cutover.one("command:local:Command", "preflight")
    assert preflight.urn in sibling.dependencies


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_the_lambda_permission_names_only_the_routes_new_target_group(
    cutover: Deployment, route: str
):
    config = ROUTES[route]
    lambda_group = side(cutover, route, constants.CUTOVER_SIDE_LAMBDA)
    name = config.function_name.rsplit(":", 1)[-1]
    permissions = [
        p for p in cutover.of_type(PERMISSION) if p.inputs["statementId"].endswith(f"-{route}")
    ]

    (permission,) = permissions
    assert permission.inputs["principal"] == "elasticloadbalancing.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["sourceArn"] == arn(lambda_group)
    assert permission.inputs["function"] == name
    assert permission.inputs.get("qualifier") == config.qualifier
    assert (
        rule_of(cutover, route).inputs["tags"][constants.CUTOVER_PERMISSION_TAG]
        == (permission.inputs["statementId"])
    )
    (attachment,) = [
        a for a in cutover.of_type(ATTACHMENT) if a.inputs["targetGroupArn"] == arn(lambda_group)
    ]
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    expected = f"{function_arn}:{config.qualifier}" if config.qualifier else function_arn
    assert attachment.inputs["targetId"] == expected
    assert permission.urn in attachment.dependencies


def test_there_is_one_permission_per_route_and_no_other(cutover: Deployment):
    permissions = cutover.of_type(PERMISSION)
    lambda_groups = {arn(side(cutover, route, constants.CUTOVER_SIDE_LAMBDA)) for route in ROUTES}

    assert len(permissions) == len(ROUTES)
    assert {p.inputs["sourceArn"] for p in permissions} == lambda_groups


def test_the_existing_functions_are_only_looked_up(cutover: Deployment):
    lookups = [args for token, args in cutover.invokes if token == GET_FUNCTION]
    lambda_types = {r.type for r in cutover.resources if r.type.startswith("aws:lambda/")}
    function_arns = {
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{route.function_name.rsplit(':', 1)[-1]}"
        for route in CUTOVER_ROUTES
    }

    # One read per route, for the configured name and qualifier; nothing registered is the
    # function (no Function resource, no `Function.get`, no import): Pulumi can neither
    # update nor delete what it never registered.
    assert sorted((a["functionName"], a.get("qualifier")) for a in lookups) == sorted(
        (route.function_name, route.qualifier) for route in CUTOVER_ROUTES
    )
    assert lambda_types == {PERMISSION}
    assert "aws:lambda/function:Function" not in {r.type for r in cutover.resources}
    for resource in cutover.custom():
        assert resource.id not in function_arns
        assert resource.outputs.get("arn") not in function_arns


def test_a_stack_without_routes_has_no_cutover_resources(dev: Deployment):
    assert not [r for r in dev.resources if "Cutover" in r.type]
    assert GET_FUNCTION not in dev.calls
    assert not dev.of_type(PERMISSION)
    assert set(dev.outputs) & {"cutover_service", "cutover_log_group", "cutover_alarms"} == set()


def test_outputs_name_the_cutover_service_log_group_and_alarms(cutover: Deployment):
    assert cutover.outputs["cutover_service"] == "keel-dev-web-cutover"
    assert cutover.outputs["cutover_log_group"] == "/keel/keel-dev/cutover"
    assert sorted(cutover.outputs["cutover_alarms"]) == sorted(
        f"keel-dev-cutover-{route}-{kind}"
        for route in ROUTES
        for kind in ("5xx-rate", "latency-p95")
    )


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_route_has_alarms_on_keels_side(cutover: Deployment, route: str):
    config = ROUTES[route]
    alarms = {alarm.inputs["name"]: alarm for alarm in tagged(cutover, ALARM, route)}
    keel_suffix = side(cutover, route, constants.CUTOVER_SIDE_KEEL).outputs["arnSuffix"]

    prefix = constants.cutover_alarm_prefix("keel-dev", route)
    latency = alarms[f"{prefix}latency-p95"]
    assert latency.inputs["extendedStatistic"] == "p95"
    assert latency.inputs["threshold"] == config.latency_p95_seconds
    assert latency.inputs["dimensions"]["TargetGroup"] == keel_suffix
    rate = alarms[f"{prefix}5xx-rate"]
    assert rate.inputs["threshold"] == config.error_rate_percent
    queried = {
        q["metric"]["dimensions"]["TargetGroup"]
        for q in rate.inputs["metricQueries"]
        if "metric" in q
    }
    assert queried == {keel_suffix}


# ---- Pulumi's state and the operator's weights ---------------------------------------


def test_pulumi_ignores_the_weights_after_creating_the_rule(cutover: Deployment):
    for route in ROUTES:
        assert rule_of(cutover, route).ignore_changes == ("actions",)


def test_changing_the_config_weights_or_patterns_never_replaces_a_rule(cutover: Deployment):
    """A replaced rule would start again at the config's weights (ignoreChanges applies to
    updates only); the provider replaces a rule only when its listener changes."""
    moved = tuple(
        CutoverRoute(
            **{
                **vars(route),
                "keel_percent": 100 - route.keel_percent,
                "paths": (*route.paths, "/v2/*") if route.paths else (),
            }
        )
        for route in CUTOVER_ROUTES
    )
    changed = deploy(cutover_config().replace(cutover=CutoverConfig(routes=moved)).check())

    for route in ROUTES:
        before, after = rule_of(cutover, route), rule_of(changed, route)
        assert after.urn == before.urn
        assert after.inputs["listenerArn"] == before.inputs["listenerArn"]
        assert after.ignore_changes == ("actions",)
        # The only input the weights live in is the one Pulumi ignores.
        assert forward(after) != forward(before)
        assert {k: v for k, v in after.inputs.items() if k not in ("actions", "conditions")} == {
            k: v for k, v in before.inputs.items() if k not in ("actions", "conditions")
        }


# ---- Configuration checks ------------------------------------------------------------


def route(**changes) -> CutoverRoute:
    values = {
        "name": "orders",
        "function_name": "legacy-orders",
        "paths": ("/orders/*",),
        "priority": 10,
    }
    return CutoverRoute(**{**values, **changes})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            CutoverConfig(routes=tuple(route(name=f"r{i}", priority=i + 1) for i in range(6))),
            "at most 5 weighted routes at a time",
        ),
        (
            CutoverConfig(
                routes=tuple(route(name=f"r{i}", priority=i + 1, weighted=False) for i in range(41))
            ),
            "at most 40 routes",
        ),
        (CutoverConfig(routes=(route(), route(name="other"))), "priorities repeat"),
        (CutoverConfig(routes=(route(), route(priority=11))), "names repeat"),
        (CutoverConfig(routes=(route(keel_percent=150),)), "keelPercent must be a whole number"),
        (CutoverConfig(routes=(route(paths=()),)), "name paths or hosts"),
        (
            CutoverConfig(routes=(route(priority=LAMBDA_ONLY_PRIORITY_OFFSET),)),
            "ahead of the production rule",
        ),
        (CutoverConfig(routes=(route(name="a-very-long-route-nm"),)), "longer than 32 characters"),
        (
            CutoverConfig(routes=(route(function_name="arn:aws:s3:::bucket"),)),
            "not a Lambda function",
        ),
        (
            CutoverConfig(routes=(route(paths=tuple(f"/p{i}" for i in range(6))),)),
            "at most 5 paths",
        ),
    ],
)
def test_bad_cutover_config_is_refused_before_planning(config: CutoverConfig, message: str):
    with pytest.raises(ValueError, match=message):
        cutover_config().replace(cutover=config).check()


def test_the_stack_reads_keel_cutover_with_numbers_set_as_strings():
    values = {
        "aws:region": REGION,
        "keel:imageTag": "1",
        "keel:web": {
            "certificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/1-2-3",
            "domainNames": ["keel-dev.example.com"],
        },
        "keel:alarms": {"runbookBaseUrl": RUNBOOK_BASE_URL},
        "keel:cutover": {
            "minCount": 1,
            "routes": [
                {
                    "name": "orders",
                    "functionName": "legacy-orders",
                    "paths": ["/orders/*"],
                    "priority": "10",
                    "keelPercent": "5",
                    "weighted": "false",
                }
            ],
        },
    }

    (read,) = stack_config_from(values, stack="dev").cutover.routes
    assert (read.priority, read.keel_percent, read.weighted) == (10, 5, False)
    values["keel:cutover"]["routes"][0]["weight"] = 5
    with pytest.raises(ValueError, match="unknown CutoverRoute keys: weight"):
        stack_config_from(values, stack="dev")


# ---- Lambda-only routes: the host on keel's ALB before its functions move -------------


def lambda_only_config(*, weighted: bool) -> Deployment:
    routes = (
        CUTOVER_ROUTES[0],
        CutoverRoute(
            name="invoices",
            function_name="legacy-invoices",
            paths=("/invoices/*",),
            priority=30,
            weighted=weighted,
        ),
    )
    return deploy(cutover_config().replace(cutover=CutoverConfig(routes=routes)).check())


def test_a_lambda_only_route_forwards_to_its_function_alone_behind_its_priority():
    deployment = lambda_only_config(weighted=False)
    (rule,) = [
        r
        for r in deployment.of_type(RULE)
        if r.inputs["tags"].get(constants.CUTOVER_LAMBDA_ONLY_TAG) == "invoices"
    ]
    (lambda_group,) = tagged(deployment, TARGET_GROUP, "invoices")
    (sibling,) = [
        s for s in deployment.of_type(SERVICE) if s.inputs["name"] == "keel-dev-web-cutover"
    ]

    (action,) = rule.inputs["actions"]
    assert action == {"type": "forward", "targetGroupArn": arn(lambda_group)}
    assert rule.inputs["priority"] == 30 + LAMBDA_ONLY_PRIORITY_OFFSET
    assert constants.CUTOVER_ROUTE_TAG not in rule.inputs["tags"]
    assert not tagged(deployment, ALARM, "invoices")
    assert [b["targetGroupArn"] for b in sibling.inputs["loadBalancers"]] == [
        arn(side(deployment, "orders", constants.CUTOVER_SIDE_KEEL))
    ]
    assert [p.inputs["sourceArn"] for p in deployment.of_type(PERMISSION)].count(
        arn(lambda_group)
    ) == 1


def test_weighting_a_route_keeps_its_lambda_side_and_puts_the_new_rule_ahead_of_the_old():
    before, after = lambda_only_config(weighted=False), lambda_only_config(weighted=True)

    def lambda_side(deployment: Deployment) -> dict[str, str]:
        kinds = (TARGET_GROUP, PERMISSION, ATTACHMENT)
        return {
            r.name: r.urn
            for r in deployment.resources
            if r.type in kinds and r.name.startswith("invoices-") and r.name != "invoices-keel"
        }

    assert lambda_side(after) == lambda_side(before)
    assert len(lambda_side(after)) == 3
    old = before.one(RULE, "invoices-lambda-only")
    new = rule_of(after, "invoices")
    # Pulumi creates the weighted rule (at 0 % keel) before deleting the Lambda-only one;
    # ALB evaluates the lower number first, so requests never see a gap.
    assert new.inputs["priority"] < old.inputs["priority"]
    assert forward(new)[arn(side(after, "invoices", constants.CUTOVER_SIDE_LAMBDA))] == 100
    assert not [r for r in after.of_type(RULE) if r.name == "invoices-lambda-only"]


def test_a_stack_with_lambda_only_routes_runs_no_cutover_service():
    routes = tuple(CutoverRoute(**{**vars(route), "weighted": False}) for route in CUTOVER_ROUTES)
    deployment = deploy(cutover_config().replace(cutover=CutoverConfig(routes=routes)).check())

    assert "keel-dev-web-cutover" not in {s.inputs["name"] for s in deployment.of_type(SERVICE)}
    assert "cutover_service" not in deployment.outputs
    assert len(deployment.of_type(PERMISSION)) == 2
    assert [
        found
        for resource in deployment.custom()
        for found in policies.violations(
            resource.type, resource.inputs, policies.Options(protect=resource.protect)
        )
    ] == []
    assert policies.stack_violations((r.type, r.outputs) for r in deployment.custom()) == []
