"""Two rules of the Pulumi engine, applied to the graph a mock run records.

Mocks run the program but not the engine, so the rules that decide whether a command
works are reproduced here from the engine's source (pulumi/pulumi at 1b5949891b3c,
cited in docs/adr/0006-first-deploy.md):

- **URNs** (``pkg/resource/deploy/deployment.go`` ``generateURN``, lines 796-805): the
  qualified type is the parent's *full* qualified type, ``$``, the resource's type; the
  root stack's type is left out. (The Python SDK's ``MockMonitor.make_urn`` keeps only the
  parent's last type, so a mock URN is not the URN ``pulumi up`` sees.)
- **Targets** (``deployment.go`` ``UrnTargets``, lines 154-231): a target containing
  ``*`` is a glob where ``*`` matches within one ``:``-separated part and ``**``
  anything; others are literal URNs.
- **Targeted creates** (``step_generator.go``): providers and the root stack are always
  included (lines 1287-1300); an untargeted resource that does not exist yet becomes a
  "skipped create" (1777-1781); a step whose parent, dependencies, property dependencies
  or provider (``pkg/resource/state.go`` ``GetAllDependencies``, 366-392) is a skipped
  create fails the update with diagnostic 2013, "Resource '...' depends on '...' which
  was was not specified in --target list." (481-540, ``sdk/go/common/diag/errors.go``).
- **What a skipped create answers** (``SkippedCreates``): the program still runs, and
  the engine answers a skipped create's registration SUCCESS with the state it planned,
  which has no ID and no outputs (``NewSkippedCreateStep`` in ``step.go``, the state
  built with ``Outputs: nil`` in ``step_generator.go``). Before Pulumi 3.256.0 that was
  the whole answer, and the Python SDK resolves each output the answer lacks as a known
  ``None`` (``rpc.py`` ``resolve_properties``), so ``apply`` callbacks run on it. Since
  3.256.0 (pulumi/pulumi#24108, commit 5c2eeecce1) the answer also says ``unknown`` and
  the SDK resolves the missing outputs as unknown. In both the SDK still resolves the
  resource's own inputs to the values the program passed, and an empty ID is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from google.protobuf import struct_pb2
from keel_infra_mocks import Deployment, KeelMocks, Recorded, RecordingMonitor
from pulumi.runtime.proto import resource_pb2

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def _parts(urn: str) -> tuple[str, str, str, str]:
    """Split ``urn:pulumi:<stack>::<project>::<qualified type>::<name>``."""
    prefix, project, qualified_type, name = urn.split("::", 3)
    return prefix, project, qualified_type, name


def engine_urns(deployment: Deployment) -> dict[str, str]:
    """Return mock URN -> the URN the engine gives the same resource."""
    by_urn = {resource.urn: resource for resource in deployment.resources}
    found: dict[str, str] = {}

    def qualified_type(resource: Recorded) -> str:
        parent = by_urn.get(resource.parent)
        if parent is None:  # the root stack, or no parent at all
            return resource.type
        return f"{qualified_type(parent)}${resource.type}"

    for resource in deployment.resources:
        prefix, project, _, name = _parts(resource.urn)
        found[resource.urn] = f"{prefix}::{project}::{qualified_type(resource)}::{name}"
    return found


def target_matcher(targets: Iterable[str]) -> Callable[[str], bool]:
    """Return whether a URN is in ``--target`` list ``targets``, as UrnTargets decides."""
    literals, globs = set(), []
    for target in targets:
        if "*" not in target:
            literals.add(target)
            continue
        segments = []
        for segment in target.split("**"):
            segments.append("[^:]*".join(re.escape(part) for part in segment.split("*")))
        globs.append(re.compile("^" + ".*".join(segments) + "$"))
    return lambda urn: urn in literals or any(glob.match(urn) for glob in globs)


def implicitly_targeted(urn: str) -> bool:
    qualified_type = _parts(urn)[2]
    return qualified_type == ROOT_STACK_TYPE or qualified_type.split("$")[-1].startswith(
        "pulumi:providers:"
    )


def dependencies(resource: Recorded) -> set[str]:
    """Return the mock URNs a resource's step depends on (GetAllDependencies)."""
    found = {resource.parent, *resource.dependencies}
    for urns in resource.property_dependencies.values():
        found.update(urns)
    if resource.provider:
        found.add(resource.provider.rsplit("::", 1)[0])
    return {urn for urn in found if urn}


def targeted_update_errors(deployment: Deployment, targets: Iterable[str]) -> list[str]:
    """Return the engine's errors for ``pulumi up --target ...`` on an empty stack."""
    urns = engine_urns(deployment)
    targeted = target_matcher(targets)
    included = {
        mock for mock, engine in urns.items() if targeted(engine) or implicitly_targeted(engine)
    }
    # On an empty stack every resource is new: what is not included is a skipped create.
    skipped = set(urns) - included
    errors = []
    for resource in deployment.resources:
        if resource.urn not in included:
            continue
        for dependency in sorted(dependencies(resource) & skipped):
            errors.append(
                f"Resource '{urns[resource.urn]}' depends on '{urns[dependency]}' which was "
                "was not specified in --target list."
            )
    return errors


def targeted(deployment: Deployment, targets: Iterable[str]) -> list[Recorded]:
    """Return the resources a ``--target`` list creates."""
    urns = engine_urns(deployment)
    matches = target_matcher(targets)
    return [resource for resource in deployment.resources if matches(urns[resource.urn])]


class SkippedCreates(RecordingMonitor):
    """Answer registrations as ``pulumi up --target ...`` does on an empty stack.

    Targeted resources, providers and the root stack get the mocks' outputs; every other
    resource is a skipped create, answered with no ID and no outputs, and ``unknown`` set
    when ``unknown`` is true (a CLI with pulumi/pulumi#24108, 3.256.0 on) or not (before).
    """

    def __init__(self, mocks: KeelMocks, *, targets: Iterable[str], unknown: bool) -> None:
        super().__init__(mocks)
        self.targeted = target_matcher(targets)
        self.unknown = unknown
        #: Mock URN -> the engine's qualified type (the root stack's is left out: "").
        self.qualified_types: dict[str, str] = {}

    def answer(self, request):
        response = super().answer(request)
        parent = self.qualified_types.get(request.parent, "")
        if request.type == ROOT_STACK_TYPE:
            self.qualified_types[response.urn] = ""
            return response
        qualified_type = f"{parent}${request.type}" if parent else request.type
        self.qualified_types[response.urn] = qualified_type
        prefix, project, _, name = _parts(response.urn)
        urn = f"{prefix}::{project}::{qualified_type}::{name}"
        if self.targeted(urn) or implicitly_targeted(urn):
            return response
        return resource_pb2.RegisterResourceResponse(
            urn=response.urn, id="", object=struct_pb2.Struct(), unknown=self.unknown
        )
