"""Run keel's Pulumi program against in-process mocks and record every resource.

``deploy(config)`` builds ``KeelApp`` in a fresh Pulumi runtime with ``preview=False``
(so every ``apply`` really runs), waits for every registration, and returns what was
registered: type, logical name, inputs (as the engine sees them, camelCase) and the
options that matter here (parent, protect, retain_on_delete, dependencies).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings

from keel.infra.app import KeelApp
from keel.infra.config import DatabaseConfig, ExistingDatabaseConfig, StackConfig, WebConfig
from keel.infra.cutover_config import CutoverConfig, CutoverRoute
from keel.infra.operations_config import AlarmsConfig

INFRA = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "eu-west-1"
EXISTING_VPC_CIDR = "172.31.0.0/16"
CERTIFICATE_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555"
DOMAIN = "keel-dev.example.com"
RUNBOOK_BASE_URL = "https://git.example.com/platform/keel/blob/main/docs"
#: The VPC the mocks put every looked-up security group in (Pulumi.prod.yaml's).
EXISTING_VPC_ID = "vpc-0123456789abcdef0"


@dataclass(frozen=True)
class Recorded:
    """One registered resource."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    dependencies: tuple[str, ...]
    ignore_changes: tuple[str, ...]
    id: str = ""
    #: Input name -> the URNs its value came from.
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The provider reference (``<provider URN>::<id>``), empty for components.
    provider: str = ""
    #: What the mocks answered for it: its inputs and the outputs AWS would compute.
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Deployment:
    resources: list[Recorded]
    outputs: dict[str, Any]
    app: KeelApp
    calls: list[str] = field(default_factory=list)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of_type(self, token: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.type == token]

    def one(self, token: str, name: str) -> Recorded:
        found = [resource for resource in self.of_type(token) if resource.name == name]
        assert len(found) == 1, f"expected one {token} named {name}, found {len(found)}"
        return found[0]

    def by_id(self, resource_id: str) -> Recorded:
        found = [resource for resource in self.resources if resource.id == resource_id]
        assert len(found) == 1, f"expected one resource with id {resource_id}"
        return found[0]

    def by_urn(self, urn: str) -> Recorded:
        return next(resource for resource in self.resources if resource.urn == urn)

    def custom(self) -> Iterator[Recorded]:
        return (resource for resource in self.resources if resource.custom)

    def container_definitions(self, family_suffix: str) -> dict[str, Any]:
        for task in self.of_type("aws:ecs/taskDefinition:TaskDefinition"):
            if task.inputs["family"].endswith(family_suffix):
                (definition,) = json.loads(task.inputs["containerDefinitions"])
                return definition
        raise AssertionError(f"no task definition family ending {family_suffix}")


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


class KeelMocks(pulumi.runtime.Mocks):
    """Answer like AWS would, enough for keel's program: ids, ARNs and computed outputs."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        #: Every invoke with its arguments, in order.
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        name = inputs.get("name") or args.name
        resource_id = f"{args.name}-id"
        state: dict[str, Any] = {**inputs, "arn": _arn("mock", f"{args.typ}/{args.name}")}
        match args.typ:
            case "aws:ec2/securityGroup:SecurityGroup":
                resource_id = f"sg-{args.name}"
            case "aws:ec2/vpc:Vpc":
                resource_id = "vpc-new"
            case "aws:ec2/subnet:Subnet":
                resource_id = f"subnet-{args.name}"
            case "aws:rds/instance:Instance":
                state |= {
                    "address": f"{inputs['identifier']}.abc.{REGION}.rds.amazonaws.com",
                    "port": 5432,
                    "masterUserSecrets": [
                        {
                            "secretArn": _arn("secretsmanager", "secret:rds!db-mock-AbCdEf"),
                            "secretStatus": "active",
                            "kmsKeyId": "",
                        }
                    ],
                }
            case "aws:lb/loadBalancer:LoadBalancer":
                state |= {
                    "arn": _arn("elasticloadbalancing", f"loadbalancer/app/{name}/0123"),
                    "arnSuffix": f"app/{name}/0123",
                    "dnsName": f"{name}-0123.{REGION}.elb.amazonaws.com",
                }
            case "aws:lb/targetGroup:TargetGroup":
                state |= {
                    "arn": _arn("elasticloadbalancing", f"targetgroup/{name}/0123"),
                    "arnSuffix": f"targetgroup/{name}/0123",
                }
            case "aws:lb/listenerRule:ListenerRule":
                state["arn"] = _arn("elasticloadbalancing", f"listener-rule/app/{args.name}")
            case "aws:ecr/repository:Repository":
                state |= {
                    "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
                    "arn": _arn("ecr", f"repository/{name}"),
                }
            case "aws:secretsmanager/secret:Secret":
                state["arn"] = _arn("secretsmanager", f"secret:{inputs['namePrefix']}AbCdEf")
            case "aws:cloudwatch/logGroup:LogGroup":
                state["arn"] = _arn("logs", f"log-group:{name}")
            case "aws:iam/role:Role":
                state["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
            case "aws:ecs/cluster:Cluster":
                state["arn"] = _arn("ecs", f"cluster/{name}")
            case "aws:ecs/taskDefinition:TaskDefinition":
                state["arn"] = _arn("ecs", f"task-definition/{inputs['family']}:1")
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        self.calls.append(args.token)
        self.invokes.append((args.token, dict(args.args)))
        match args.token:
            case "aws:index/getRegion:getRegion":
                return {"region": REGION, "name": REGION, "id": REGION}, []
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    "accountId": ACCOUNT,
                    "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
                    "userId": "deployer",
                    "id": ACCOUNT,
                }, []
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                zones = [f"{REGION}{letter}" for letter in "abc"]
                return {"names": zones, "zoneIds": zones, "id": REGION}, []
            case "aws:ec2/getVpc:getVpc":
                return {"id": args.args["id"], "cidrBlock": EXISTING_VPC_CIDR}, []
            case "aws:ec2/getSecurityGroup:getSecurityGroup":
                group = args.args["id"]
                return {
                    "id": group,
                    "vpcId": EXISTING_VPC_ID,
                    "arn": _arn("ec2", f"security-group/{group}"),
                    "name": "legacy-database",
                    "description": "the existing database",
                    "tags": {},
                }, []
            case "aws:ec2/getRouteTable:getRouteTable":
                return {"id": f"rtb-{args.args['subnetId']}"}, []
            case "aws:lambda/getFunction:getFunction":
                name = args.args["functionName"].rsplit(":", 1)[-1]
                arn = _arn("lambda", f"function:{name}")
                qualifier = args.args.get("qualifier") or "$LATEST"
                return {
                    "functionName": name,
                    "arn": arn,
                    "qualifiedArn": f"{arn}:{qualifier}",
                    "qualifier": qualifier,
                    "version": "7",
                    "role": f"arn:aws:iam::{ACCOUNT}:role/{name}-role",
                    "id": name,
                }, []
            case "aws:secretsmanager/getRandomPassword:getRandomPassword":
                return {"randomPassword": "r" * 64, "id": "random"}, []
        raise AssertionError(f"unexpected call {args.token}")


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps the options each resource was registered with."""

    def __init__(self, mocks: KeelMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Recorded] = []
        #: The event loops Pulumi's executor threads use, closed by ``close_loops``.
        self.loops: set[asyncio.AbstractEventLoop] = set()
        self._lock = threading.Lock()

    def _thread_loop(self) -> None:
        """Give this thread an event loop we can close later (Pulumi never closes its own)."""
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
        with self._lock:
            self.loops.add(loop)

    def close_loops(self) -> None:
        for loop in self.loops:
            if not loop.is_running():
                loop.close()

    def Invoke(self, request):
        self._thread_loop()
        return super().Invoke(request)

    def ReadResource(self, request):
        self._thread_loop()
        return super().ReadResource(request)

    def answer(self, request):
        """Return the engine's answer to a registration: the mocks' id and outputs."""
        return super().RegisterResource(request)

    def RegisterResource(self, request):
        self._thread_loop()
        response = self.answer(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = rpc.deserialize_properties(request.object)
        record = Recorded(
            type=request.type,
            name=request.name,
            urn=response.urn,
            parent=request.parent,
            custom=request.custom,
            inputs=inputs,
            protect=request.protect,
            retain_on_delete=request.retainOnDelete,
            dependencies=tuple(request.dependencies),
            ignore_changes=tuple(request.ignoreChanges),
            id=response.id,
            property_dependencies={
                key: tuple(value.urns) for key, value in request.propertyDependencies.items()
            },
            provider=request.provider,
            outputs=rpc.deserialize_properties(response.object) if response.object else {},
        )
        with self._lock:
            self.recorded.append(record)
        return response


#: Builds the monitor a run registers through, from the run's mocks.
MonitorFactory = Callable[[KeelMocks], RecordingMonitor]


def deploy(config: StackConfig, monitor: MonitorFactory = RecordingMonitor) -> Deployment:
    """Build keel for ``config`` against fresh mocks and return everything registered."""
    return run_program(config.stack, lambda: KeelApp("keel", config), monitor=monitor)


def run_program(
    stack: str,
    build: Callable[[], KeelApp],
    config: Mapping[str, str] | None = None,
    monitor: MonitorFactory = RecordingMonitor,
) -> Deployment:
    """Run ``build`` in a fresh mocked Pulumi runtime with ``config`` as the stack's config.

    ``monitor`` answers the registrations (by default: every resource gets the mocks'
    outputs, as in a full ``pulumi up``).
    """
    mocks = KeelMocks()
    recording = monitor(mocks)
    # Pulumi's synchronous helpers ask for the current loop; giving them one avoids
    # asyncio's "no current event loop" deprecation (an error in this suite).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="keel", stack=stack, preview=False, monitor=recording)
    pulumi.runtime.set_all_config(dict(config or {}))
    built: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output:
        app = build()
        built["app"] = app
        return pulumi.Output.all(**app.outputs).apply(lambda outputs: built.update(outputs))

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
        # A program that raised leaves its registrations' tasks pending; destroyed with
        # the loop they would report "Task was destroyed but it is pending!" into whichever
        # later test the garbage collector runs in (CI once failed an unrelated test so).
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        # Its failed registrations' futures hold the error the caller already got; asyncio
        # would log each again ("Future exception was never retrieved") when collected.
        loop.set_exception_handler(_unless_unretrieved)
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()
        recording.close_loops()
    outputs = {key: value for key, value in built.items() if key != "app"}
    return Deployment(
        resources=list(recording.recorded),
        outputs=outputs,
        app=built["app"],
        calls=mocks.calls,
        invokes=mocks.invokes,
    )


def _unless_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if not context.get("message", "").startswith("Future exception was never retrieved"):
        loop.default_exception_handler(context)


def web_config(**changes: Any) -> WebConfig:
    """Return a valid web section (a certificate and its domain) with ``changes``."""
    return WebConfig(**{"certificate_arn": CERTIFICATE_ARN, "domain_names": (DOMAIN,), **changes})


def dev_config(**changes: Any) -> StackConfig:
    """Return a valid ``dev`` stack config (new VPC, image from the stack's registry)."""
    base = StackConfig(
        stack="dev",
        image_tag="2025-01-01.1",
        web=web_config(),
        alarms=AlarmsConfig(runbook_base_url=RUNBOOK_BASE_URL),
    )
    return base.replace(**changes).check()


#: Two routes in flight: one by path on an alias of its function, one by host name.
CUTOVER_ROUTES = (
    CutoverRoute(
        name="orders",
        function_name="legacy-orders",
        qualifier="live",
        paths=("/orders", "/orders/*"),
        priority=10,
        keel_percent=0,
    ),
    CutoverRoute(
        name="reports",
        function_name=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:legacy-reports",
        hosts=("reports.example.com",),
        priority=20,
        keel_percent=25,
        latency_p95_seconds=5.0,
    ),
)


def cutover_config(**changes: Any) -> StackConfig:
    """Return the dev stack with ``CUTOVER_ROUTES`` being cut over."""
    return dev_config(cutover=CutoverConfig(routes=CUTOVER_ROUTES), **changes)


class StackFileConfig:
    """Answer like ``pulumi.Config("keel")`` from a ``Pulumi.<stack>.yaml`` file."""

    def __init__(self, stack: str, values: Mapping[str, Any] | None = None) -> None:
        if values is None:
            path = INFRA / f"Pulumi.{stack}.yaml"
            values = yaml.safe_load(path.read_text())["config"]
        self._values = {
            key.removeprefix("keel:"): value
            for key, value in values.items()
            if key.startswith("keel:")
        }

    def get(self, key: str) -> str | None:
        value = self._values.get(key)
        return None if value is None else str(value)

    def get_object(self, key: str) -> Any:
        return self._values.get(key)

    def get_int(self, key: str) -> int | None:
        value = self._values.get(key)
        return None if value is None else int(value)

    def get_bool(self, key: str) -> bool | None:
        value = self._values.get(key)
        return None if value is None else bool(value)


def stack_file_config(stack: str) -> StackConfig:
    """Return the checked config of the example stack file ``infra/Pulumi.<stack>.yaml``."""
    values = yaml.safe_load((INFRA / f"Pulumi.{stack}.yaml").read_text())["config"]
    return stack_config_from(values, stack=stack)


def stack_config_from(values: Mapping[str, Any], *, stack: str) -> StackConfig:
    """Return the checked config of a stack whose Pulumi config is ``values``."""
    return StackConfig.from_pulumi(
        StackFileConfig(stack, values), stack=stack, region=values.get("aws:region")
    )


#: An existing database: its URL's secret and its security group (looked up, read only).
EXISTING_DATABASE = ExistingDatabaseConfig(
    url_secret_arn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:legacy/database-url-AbCdEf",
    security_group_id="sg-0fedcba9876543210",
)


def existing_database_config(**changes: Any) -> StackConfig:
    """Return ``infra/Pulumi.prod.yaml`` using ``EXISTING_DATABASE`` instead of RDS."""
    changes = {"database": DatabaseConfig(existing=EXISTING_DATABASE), **changes}
    return stack_file_config("prod").replace(**changes).check()
