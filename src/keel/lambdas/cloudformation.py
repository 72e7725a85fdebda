"""Read an AWS SAM / CloudFormation template: YAML with its short-form tags, or JSON.

CloudFormation's YAML writes intrinsic functions as tags (``!Ref Queue``,
``!GetAtt Queue.Arn``, ``!Sub "${AWS::StackName}-x"``); a plain YAML loader refuses
them. Each is read as the long form CloudFormation documents (``{"Ref": "Queue"}``,
``{"Fn::GetAtt": ["Queue", "Arn"]}``, ``{"Fn::Sub": ...}``), so the rest of the importer
sees one shape whichever form the template used.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

import re
from typing import Any

import yaml

#: Short-form tags and their long names; ``!Ref`` and ``!Condition`` keep theirs.
_FUNCTIONS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAtt",
            "GetAZs",
            "If",
            "ImportValue",
            "Join",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
            "Transform",
            "Length",
            "ToJsonString",
        )
    },
}


class TemplateLoader(yaml.SafeLoader):
    """YAML's safe loader, with CloudFormation's short-form intrinsic function tags."""


def _intrinsic(loader: TemplateLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _FUNCTIONS.get(suffix)
    if name is None:
        raise yaml.constructor.ConstructorError(
            None, None, f"unknown CloudFormation tag !{suffix}", node.start_mark
        )
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            # The short form of GetAtt is one string, "Resource.Attribute".
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


TemplateLoader.add_multi_constructor("!", _intrinsic)


def load(text: str) -> dict[str, Any]:
    """Parse a template; raise ``ValueError`` when it is not one."""
    try:
        document = yaml.load(text, Loader=TemplateLoader)  # noqa: S506  (a safe loader)
    except yaml.YAMLError as error:
        raise ValueError(f"not a YAML or JSON template: {error}") from None
    if not isinstance(document, dict):
        raise ValueError("a template is a mapping with Resources")
    return document


class Unresolved(ValueError):
    """A value known only once the stack is deployed (a resource's ARN, the account)."""


_SUB = re.compile(r"\$\{([^}!]+)\}")


class Resolver:
    """Evaluate what can be evaluated before deployment: parameters' defaults, literals."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.parameters = {
            name: spec.get("Default")
            for name, spec in (template.get("Parameters") or {}).items()
            if isinstance(spec, dict)
        }
        self.resources = template.get("Resources") or {}

    def value(self, node: Any) -> Any:
        """Return ``node`` with its intrinsic functions evaluated; raise ``Unresolved``."""
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((name, argument),) = node.items()
            if name == "Ref":
                return self._ref(argument)
            if name == "Fn::Sub":
                return self._sub(argument)
            if name == "Fn::Join":
                separator, items = argument
                return str(separator).join(str(self.value(item)) for item in self.value(items))
            if name.startswith("Fn::") or name == "Condition":
                raise Unresolved(f"{name} is evaluated at deployment")
        return {key: self.value(item) for key, item in node.items()}

    def _ref(self, name: Any) -> Any:
        if name in self.parameters and self.parameters[name] is not None:
            return self.parameters[name]
        if name in self.resources:
            raise Unresolved(f"!Ref {name} is the deployed resource's id")
        raise Unresolved(f"!Ref {name} is known at deployment")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def replace(found: re.Match[str]) -> str:
            key = found[1]
            if key in variables:
                return str(self.value(variables[key]))
            return str(self._ref(key))

        return _SUB.sub(replace, str(text))
