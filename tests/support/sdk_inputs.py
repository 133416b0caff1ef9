"""Check recorded ``RegisterResource`` inputs against the installed Pulumi SDKs' own input types.

The mock engine (``deedbox.plan.engine``) accepts any input bag: a misspelled key, a snake_case key
that was never translated, a dict where the provider wants a JSON string all pass every mock test
and fail at the first real ``pulumi preview`` (pulumi/pulumi-aws#5271: ``assume_roles`` given as
plain dicts reach the provider as ``[{"role_arn": ...}]`` and it reports "IAM Role ARN not set in
assume role 1 of 1"). This module derives, per resource type token, the wire schema the installed
SDK itself would send, and validates a recorded graph against it. Nothing here is written by hand
per resource: every name, nesting and scalar type comes from the SDK.

Where the schema comes from (paths relative to ``site-packages``):

- Token -> class. ``pulumi_aws/__init__.py`` calls ``_utilities.register(resource_modules=...,
  resource_packages=...)`` (``pulumi_aws/_utilities.py: register``), which stores a ``Module`` per
  ``<pkg>:<mod>`` via ``pulumi.runtime.register_resource_module`` and a ``Package`` per provider via
  ``register_resource_package`` (``pulumi/runtime/rpc.py``). Their ``mod_info`` / ``pkg_info``
  name the Python module (``fqn``) and class of each token; ``Module.construct`` uses the same
  table to rehydrate resources. We look tokens up with ``rpc.get_resource_module(pkg, mod, "")``
  and ``rpc.get_resource_package(pkg, "")``; ``pulumi:providers:aws`` is ``pulumi_aws.Provider``.
- Class -> args type. Every generated ``_internal_init`` builds its props as
  ``__props__ = <Name>Args.__new__(<Name>Args)`` and passes that object to ``Resource.__init__``
  (``pulumi/resource.py``), which, because it is an ``@input_type``, makes
  ``prepare_resource`` (``pulumi/runtime/resource.py``) call ``rpc.serialize_properties`` with
  ``typ=<Name>Args``: top-level keys are translated by ``_types.input_type_py_to_pulumi_names``
  (``py_name_to_pulumi_name.get(k) or k``), i.e. the ``@pulumi.getter(name="camelName")`` of each
  property. We read the args class name out of ``inspect.getsource(cls._internal_init)``.
- Nested types. ``rpc.serialize_property`` translates a nested dict with the metadata of the
  ``@input_type`` its annotation names (``_types.input_type_types``: Pulumi name -> type hint,
  resolved by ``get_type_hints`` against the class's module globals); a key that is not a Python
  property name is sent *untranslated* (``.get(k) or k``). So the allowed keys of a nested object
  are exactly the Pulumi names of its input type's getters, recursively. ``Input[T]`` is
  ``Union[T, Awaitable[T], Output[T]]`` (``pulumi/output.py``); we drop the same "plumbing" union
  members as ``pulumi/_types.py: _is_plumbing_arg`` (``Awaitable``, ``Output``, and the
  ``*ArgsDict`` TypedDicts, which duplicate the sibling ``*Args`` class with snake_case keys), and
  ``Optional``. ``str``-valued enums (``pulumi_aws/<module>/_enums.py``) are strings on the wire.
- Required keys. The ``*Args.__init__`` parameters without a default are the schema's required
  properties (the generated code raises ``TypeError("Missing required property ...")`` for top-level
  ones; nested dicts get no such check, so we do it).
- Provider config. ``pulumi_aws/provider.py: Provider._internal_init`` JSON-encodes every
  non-string config value: ``__props__.__dict__["assume_roles"] =
  pulumi.Output.from_input(assume_roles).apply(pulumi.runtime.to_json)``. ``pulumi/runtime/_json.py:
  to_json`` turns an ``@input_type`` instance into its Pulumi-named dict
  (``_types.input_type_to_dict``) but dumps a plain dict as it is, snake_case keys included, which
  is #5271. We read the set of JSON-encoded properties out of that source and, for those, require a
  string holding JSON and validate the decoded value against the property's type.

What is checked: every key of every custom resource's inputs (recursively) is a wire name of the
SDK's input type at that position; each value has the SDK's shape (object / list / map / string /
number / integer / bool); nested required keys are present; provider config values that the SDK
JSON-encodes are JSON strings whose content passes the same checks.

What is not checked: values (enum members, ARN formats, ranges), JSON held in string properties
such as IAM policy documents, which properties conflict with each other, and anything the provider
itself computes or defaults. Secret values (masked as ``[secret]``) and unknowns are accepted at any
position. Component resources (``custom=False``) have no wire schema, and dynamic resources
(``pulumi-python:dynamic/...``) take free-form inputs plus the pickled ``__provider``: both are
skipped. No other ``__``-prefixed key is allowed: the Python SDK sends none for custom resources
(``prepare_resource`` serializes exactly the props; ``__defaults`` is added by providers' ``Check``,
never by the program), and the recording monitor keeps the request's struct as is.
"""

from __future__ import annotations

import collections.abc
import enum
import functools
import importlib
import inspect
import json
import re
import sys
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws  # noqa: F401  (importing it registers the aws resource modules and package)
from pulumi import _types
from pulumi.runtime import rpc

from deedbox.plan.graph import SECRET, UNKNOWN, Graph, ResourceRecord

__all__ = [
    "Field", "ListOf", "MapOf", "Obj", "OneOf", "Opaque", "ResourceSchema", "Scalar", "SchemaError",
    "Violation", "check_graph", "check_inputs", "check_record", "check_value", "describe",
    "object_fields", "resource_schema", "spec_of",
]

DYNAMIC_PREFIX = "pulumi-python:dynamic/"
_MASKED = (SECRET, UNKNOWN, rpc.UNKNOWN)


class SchemaError(Exception):
    """The installed SDK does not describe a token or annotation the way this module expects."""


# --- the schema model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scalar:
    """A JSON scalar: ``str``, ``bool``, ``int`` (integral numbers) or ``float`` (any number)."""

    type: type


@dataclass(frozen=True)
class ListOf:
    item: Spec


@dataclass(frozen=True)
class MapOf:
    """A user-keyed map (``Mapping[str, T]``): keys are free, values are ``T``."""

    value: Spec


@dataclass(frozen=True)
class Obj:
    """An ``@pulumi.input_type`` class: keys are its getters' Pulumi names (see ``object_fields``)."""

    cls: type


@dataclass(frozen=True)
class OneOf:
    options: tuple[Spec, ...]


@dataclass(frozen=True)
class Opaque:
    """``Any`` (anything goes) or an asset/archive class (the value must be an instance)."""

    cls: Any


Spec = Scalar | ListOf | MapOf | Obj | OneOf | Opaque


@dataclass(frozen=True)
class Field:
    wire: str  # the Pulumi (camelCase) name sent to the engine
    py: str  # the SDK's Python name
    spec: Spec
    required: bool


@dataclass(frozen=True)
class ResourceSchema:
    token: str
    cls: type  # e.g. pulumi_aws.s3.Bucket, pulumi_aws.Provider
    args: type  # e.g. pulumi_aws.s3.BucketArgs, pulumi_aws.ProviderArgs
    json_encoded: frozenset[str]  # wire names the SDK sends as JSON strings (provider config)

    @property
    def fields(self) -> dict[str, Field]:
        return object_fields(self.args)


@dataclass(frozen=True)
class Violation:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# --- deriving the schema from the SDK ----------------------------------------------------------


_SEQUENCES = (list, collections.abc.Sequence, typing.Sequence, typing.List)  # noqa: UP006
_MAPPINGS = (dict, collections.abc.Mapping, typing.Mapping, typing.Dict)  # noqa: UP006
_SCALARS = (str, bool, int, float)


def _is_plumbing(arg: Any) -> bool:
    """The union members an ``Input[T]`` carries besides ``T`` (cf. ``pulumi._types._is_plumbing_arg``)."""
    if arg is type(None) or arg is pulumi.Output or typing.get_origin(arg) is pulumi.Output:
        return True
    if isinstance(arg, typing.ForwardRef):
        return arg.__forward_arg__.startswith("Output[")
    return typing.get_origin(arg) in (collections.abc.Awaitable, collections.abc.Coroutine, typing.Awaitable)


def spec_of(hint: Any) -> Spec:
    """The wire shape of one SDK type annotation (``Optional[Input[Sequence[Input[XArgs]]]]`` ...)."""
    origin = typing.get_origin(hint)
    if _types._is_union_type(hint):
        members = [a for a in typing.get_args(hint) if not _is_plumbing(a)]
        has_input_type = any(inspect.isclass(a) and _types.is_input_type(a) for a in members)
        options: list[Spec] = []
        for arg in members:
            if typing.is_typeddict(arg) and has_input_type:
                continue  # XArgsDict next to XArgs: same property, snake_case spelling
            spec = spec_of(arg)
            if spec not in options:
                options.append(spec)
        if not options:
            raise SchemaError(f"no wire type in {hint!r}")
        return options[0] if len(options) == 1 else OneOf(tuple(options))
    if origin in _SEQUENCES:
        (item,) = typing.get_args(hint) or (Any,)
        return ListOf(spec_of(item))
    if origin in _MAPPINGS:
        args = typing.get_args(hint)
        return MapOf(spec_of(args[1]) if len(args) == 2 else Opaque(Any))
    if hint is Any:
        return Opaque(Any)
    if not inspect.isclass(hint):
        raise SchemaError(f"unsupported annotation {hint!r}")
    if issubclass(hint, enum.Enum):
        base = next((b for b in _SCALARS if issubclass(hint, b)), None)
        if base is None:
            raise SchemaError(f"enum {hint!r} has no scalar base")
        return Scalar(base)
    if hint in _SCALARS:
        return Scalar(hint)
    if _types.is_input_type(hint):
        return Obj(hint)
    if typing.is_typeddict(hint):
        # an *ArgsDict with no *Args sibling in the union: use the input type it mirrors
        twin = getattr(sys.modules[hint.__module__], hint.__name__.removesuffix("Dict"), None)
        if twin is not None and _types.is_input_type(twin):
            return Obj(twin)
        raise SchemaError(f"TypedDict {hint!r} has no @input_type twin")
    if issubclass(hint, (pulumi.Asset, pulumi.Archive)):
        return Opaque(hint)
    if hint in (dict, list):
        return MapOf(Opaque(Any)) if hint is dict else ListOf(Opaque(Any))
    raise SchemaError(f"unsupported type {hint!r}")


def _required_py_names(cls: type) -> frozenset[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return frozenset(
        p.name for p in params
        if p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY
    )


@functools.cache
def object_fields(cls: type) -> dict[str, Field]:
    """Wire name -> ``Field`` of an ``@input_type`` class, from the SDK's own tables.

    ``_types.input_type_py_to_pulumi_names`` and ``_types.input_type_types`` are what
    ``rpc.serialize_property(ies)`` uses to translate and type a value of ``cls``.
    """
    if not _types.is_input_type(cls):
        raise SchemaError(f"{cls!r} is not an @input_type")
    py_to_wire = _types.input_type_py_to_pulumi_names(cls)
    hints = _types.input_type_types(cls)
    required = _required_py_names(cls)
    fields: dict[str, Field] = {}
    for py, wire in py_to_wire.items():
        if wire not in hints:
            raise SchemaError(f"{cls.__qualname__}.{py} has no type annotation")
        fields[wire] = Field(wire=wire, py=py, spec=spec_of(hints[wire]), required=py in required)
    return fields


_ARGS_RE = re.compile(r"__props__ = (\w+)\.__new__\(\1\)")
_JSON_RE = re.compile(
    r'__props__\.__dict__\["(\w+)"\] = pulumi\.Output\.from_input\(\w+\)\.apply\(pulumi\.runtime\.to_json\)'
)


def _class_for(token: str) -> type:
    pkg, mod, _name = token.split(":", 2)
    if pkg == "pulumi" and mod == "providers":
        package = rpc.get_resource_package(_name, "")
        info = getattr(package, "pkg_info", None)
        if not info or info.get("token") != token:
            raise SchemaError(f"no installed SDK registers the provider {token}")
        fqn, class_name = info["fqn"], info["class"]
    else:
        module = rpc.get_resource_module(pkg, mod, "")
        info = getattr(module, "mod_info", None)
        class_name = (info or {}).get("classes", {}).get(token)
        if class_name is None:
            raise SchemaError(f"no installed SDK registers the resource type {token}")
        fqn = info["fqn"]
    return getattr(importlib.import_module(fqn), class_name)


@functools.cache
def resource_schema(token: str) -> ResourceSchema:
    """The SDK's schema for a resource (``aws:s3/bucket:Bucket``) or provider (``pulumi:providers:aws``)."""
    cls = _class_for(token)
    source = inspect.getsource(cls._internal_init)
    match = _ARGS_RE.search(source)
    if match is None:
        raise SchemaError(f"{cls.__qualname__}._internal_init builds no __props__ = XArgs.__new__(XArgs)")
    args = getattr(sys.modules[cls.__module__], match.group(1))
    py_to_wire = _types.input_type_py_to_pulumi_names(args)
    encoded = frozenset(py_to_wire.get(py, py) for py in _JSON_RE.findall(source))
    return ResourceSchema(token=token, cls=cls, args=args, json_encoded=encoded)


# --- validating ----------------------------------------------------------------------------------


def describe(spec: Spec) -> str:
    """A short human name of a spec: ``str``, ``list of object ProviderAssumeRoleArgs`` ..."""
    if isinstance(spec, Scalar):
        return spec.type.__name__
    if isinstance(spec, ListOf):
        return f"list of {describe(spec.item)}"
    if isinstance(spec, MapOf):
        return f"map of {describe(spec.value)}"
    if isinstance(spec, Obj):
        return f"object {spec.cls.__name__}"
    if isinstance(spec, OneOf):
        return " or ".join(describe(o) for o in spec.options)
    return "any" if spec.cls is Any else spec.cls.__name__


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{path}[{json.dumps(key)}]"


def _shape_matches(value: Any, spec: Spec) -> bool:
    """Whether ``value`` has the outer shape of ``spec`` (used to pick the option of a ``OneOf``)."""
    if isinstance(spec, Scalar):
        return not check_value(value, spec, "")
    if isinstance(spec, ListOf):
        return isinstance(value, list)
    if isinstance(spec, MapOf | Obj):
        return isinstance(value, dict)
    if isinstance(spec, OneOf):
        return any(_shape_matches(value, o) for o in spec.options)
    return spec.cls is Any or isinstance(value, spec.cls)


def check_value(value: Any, spec: Spec, path: str) -> list[Violation]:
    """Violations of one deserialized wire value against ``spec``; ``path`` names the value."""
    if isinstance(value, str) and value in _MASKED:
        return []  # a secret or an unknown: its shape cannot be seen
    if isinstance(spec, Scalar):
        t = spec.type
        ok = (
            isinstance(value, str) if t is str
            else isinstance(value, bool) if t is bool
            else not isinstance(value, bool) and isinstance(value, int | float)
            and (t is float or float(value).is_integer())
        )
        if ok:
            return []
        if t is int and isinstance(value, float) and not isinstance(value, bool):
            return [Violation(path, f"expected int, got non-integral number {value!r}")]
        return [Violation(path, f"expected {t.__name__}, got {_kind(value)}")]
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            return [Violation(path, f"expected {describe(spec)}, got {_kind(value)}")]
        return [v for i, item in enumerate(value) for v in check_value(item, spec.item, f"{path}[{i}]")]
    if isinstance(spec, MapOf):
        if not isinstance(value, dict):
            return [Violation(path, f"expected {describe(spec)}, got {_kind(value)}")]
        return [v for k, item in value.items() for v in check_value(item, spec.value, _child(path, k))]
    if isinstance(spec, Obj):
        if not isinstance(value, dict):
            return [Violation(path, f"expected {describe(spec)}, got {_kind(value)}")]
        return _check_object(value, object_fields(spec.cls), path)
    if isinstance(spec, OneOf):
        candidates = [o for o in spec.options if _shape_matches(value, o)]
        for option in candidates:
            found = check_value(value, option, path)
            if not found:
                return []
        if len(candidates) == 1:
            return check_value(value, candidates[0], path)
        return [Violation(path, f"expected {describe(spec)}, got {_kind(value)}")]
    if spec.cls is Any or isinstance(value, spec.cls):
        return []
    return [Violation(path, f"expected {describe(spec)}, got {_kind(value)}")]


def _check_object(value: Mapping[str, Any], fields: Mapping[str, Field], path: str,
                  json_encoded: Iterable[str] = ()) -> list[Violation]:
    encoded = frozenset(json_encoded)
    by_py = {f.py: f for f in fields.values()}
    by_folded = {_fold(wire): wire for wire in fields}
    found: list[Violation] = []
    for key, item in value.items():
        here = _child(path, key)
        field = fields.get(key)
        if field is None:
            hint = (
                f" (the SDK's wire name of {key!r} is {by_py[key].wire!r})" if key in by_py
                else f" (did you mean {by_folded[_fold(key)]!r}?)" if _fold(key) in by_folded
                else ""
            )
            found.append(Violation(here, f"unknown key{hint} (expected one of: {', '.join(sorted(fields))})"))
            continue
        if key in encoded:
            found.extend(_check_json(item, field.spec, here))
        else:
            found.extend(check_value(item, field.spec, here))
    for field in fields.values():
        if field.required and field.wire not in value:
            found.append(Violation(_child(path, field.wire), "missing required key"))
    return found


def _fold(name: str) -> str:
    return name.replace("_", "").lower()


def _check_json(value: Any, spec: Spec, path: str) -> list[Violation]:
    """A property the SDK JSON-encodes (``.apply(pulumi.runtime.to_json)``): a JSON string of ``spec``."""
    if isinstance(value, str) and value in _MASKED:
        return []
    if not isinstance(value, str):
        return [Violation(path, f"expected a JSON-encoded {describe(spec)} (a str), got {_kind(value)}")]
    try:
        decoded = json.loads(value)
    except ValueError:
        return [Violation(path, f"expected a JSON-encoded {describe(spec)}, got a non-JSON string")]
    return check_value(decoded, spec, path)


def check_inputs(token: str, inputs: Mapping[str, Any], path: str | None = None) -> list[Violation]:
    """Violations of one resource's recorded inputs against the SDK schema of ``token``.

    ``path`` defaults to ``<token>.inputs``; ``check_record`` passes ``<token>::<name>.inputs``.
    """
    here = path if path is not None else f"{token}.inputs"
    try:
        schema = resource_schema(token)
    except SchemaError as err:
        return [Violation(here, str(err))]
    return _check_object(inputs, schema.fields, here, schema.json_encoded)


def check_record(record: ResourceRecord) -> list[Violation]:
    """``check_inputs`` for one recorded resource; components and dynamic resources pass as is."""
    if not record.custom or record.type.startswith(DYNAMIC_PREFIX):
        return []
    return check_inputs(record.type, record.inputs, f"{record.type}::{record.name}.inputs")


def check_graph(graph: Graph | Iterable[ResourceRecord]) -> list[Violation]:
    """Every violation in a recorded graph, in registration order."""
    return [v for record in graph for v in check_record(record)]
