"""One base class that gives every EVerest type its JSON form and its input schema.

The dataclasses in this package are the single source of truth for EVerest's type
definitions: their field names are EVerest's, ``to_json`` drops unset optionals, and the
voluptuous schema that validates incoming JSON is derived from the same fields (with
range/length constraints carried in ``field(metadata=...)``), so the two cannot drift.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self, get_type_hints

import voluptuous as vol

JsonDict = dict[str, Any]

RANGE = "range"
LENGTH = "length"
ITEMS = "items"
PATTERN = "pattern"


def constrained(
    *,
    default: Any = dataclasses.MISSING,
    range: tuple[float | None, float | None] | None = None,
    length: tuple[int | None, int | None] | None = None,
    items: tuple[int | None, int | None] | None = None,
    pattern: str | None = None,
) -> Any:
    """A dataclass field carrying EVerest's minimum/maximum/minLength/minItems/pattern.

    Without ``default`` the field is required, as in the type definition.
    """
    meta: dict[str, Any] = {}
    if range is not None:
        meta[RANGE] = range
    if length is not None:
        meta[LENGTH] = length
    if items is not None:
        meta[ITEMS] = items
    if pattern is not None:
        meta[PATTERN] = pattern
    return dataclasses.field(default=default, metadata=meta)


class EverestModel:
    """Base for frozen dataclasses that mirror one EVerest type."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def to_json(self) -> JsonDict:
        """The JSON object EVerest would publish: enum strings, no unset optionals."""
        result: JsonDict = dump(self)
        return result

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Validate ``data`` against the type definition and build the model.

        Raises ``vol.Invalid`` (a ``voluptuous.MultipleInvalid``) naming the bad field.
        """
        validated = schema_for(cls)(data)
        return typing.cast("Self", _build(cls, validated))

    @classmethod
    def schema(cls) -> vol.Schema:
        """The voluptuous schema of this type (used by adapters to validate input)."""
        return schema_for(cls)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A model's field names, looked up once per class (every published value is dumped)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_SCALARS = frozenset({str, int, float, bool, type(None)})


def dump(value: Any) -> Any:
    """Turn models, enums and containers into plain JSON values."""
    if type(value) in _SCALARS:  # most leaves: no isinstance against the ABCs below
        return value
    if isinstance(value, EverestModel):
        out: dict[str, Any] = {}
        for name in _field_names(type(value)):
            item = getattr(value, name)
            if item is not None:  # a scalar field without a call for it (most of them)
                out[name] = item if type(item) in _SCALARS else dump(item)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [dump(item) for item in value]
    if isinstance(value, Mapping):
        return {key: dump(item) for key, item in value.items()}
    return value


def lookup(value: Any, keys: tuple[str, ...]) -> Any:
    """``dump(value)[k1][k2]...`` (None where a key is missing), dumping only what is
    looked up: an entity that shows one number of the meter sample does not dump it all."""
    node = value
    for key in keys:
        if isinstance(node, EverestModel):
            node = getattr(node, key) if key in _field_names(type(node)) else None
        elif isinstance(node, Mapping):
            node = node.get(key)
        else:
            return None  # a scalar, an enum or a list has no keys in JSON either
        if node is None:
            return None
    return dump(node)


def _is_optional(tp: Any) -> tuple[bool, Any]:
    """Split ``X | None`` into (True, X)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != len(typing.get_args(tp)):
            return True, args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return False, tp


INT_LIMIT = 2**63  # integers beyond a signed 64-bit value are refused, not stored


def finite_number(value: Any) -> float | int:
    """A JSON number (int or float, not a boolean) that is finite and fits a float.

    NaN and infinities are refused: a NaN limit compares false with everything, so it
    would read as "no limit"; an integer too large for a float would overflow later.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise vol.Invalid("expected a number")
    if isinstance(value, int):
        if abs(value) >= INT_LIMIT:
            raise vol.Invalid("number out of range")
    elif not math.isfinite(value):
        raise vol.Invalid("expected a finite number, not NaN or infinity")
    return value


def integer(value: Any) -> int:
    """A JSON integer (not a boolean) within the signed 64-bit range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise vol.Invalid("expected an integer")
    if abs(value) >= INT_LIMIT:
        raise vol.Invalid("integer out of range")
    return value


def coerced_float(value: Any) -> float:
    """A number, or text that reads as one, as a finite float (configuration values)."""
    if isinstance(value, bool):
        raise vol.Invalid("expected a number")
    try:
        number = float(value)
    except OverflowError:
        raise vol.Invalid("number out of range") from None
    except (TypeError, ValueError):
        raise vol.Invalid("expected a number") from None
    if not math.isfinite(number):
        raise vol.Invalid("expected a finite number, not NaN or infinity")
    return number


def _strict(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise vol.Invalid(f"expected {kind.__name__}")
        return value

    return check


def _enum_validator(enum_type: type[enum.Enum]) -> Callable[[Any], Any]:
    allowed = [member.value for member in enum_type]

    def check(value: Any) -> Any:
        if value not in allowed:
            raise vol.Invalid(f"must be one of {', '.join(map(str, allowed))}")
        return value

    return check


def _validator(tp: Any) -> Any:
    """The voluptuous validator for one annotated type."""
    if isinstance(tp, type) and issubclass(tp, EverestModel):
        return schema_for(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_validator(tp)
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_validator(item)]
    if origin is dict or tp is dict:
        return _strict(dict)
    if tp is bool:
        return _strict(bool)
    if tp is int:
        return integer
    if tp is float:
        return finite_number
    if tp is str:
        return _strict(str)
    if tp is Any:
        return object
    raise TypeError(f"no validator for {tp!r}")


def _constraints(field: dataclasses.Field[Any]) -> list[Any]:
    extra: list[Any] = []
    if RANGE in field.metadata:
        low, high = field.metadata[RANGE]
        extra.append(vol.Range(min=low, max=high))
    if LENGTH in field.metadata:
        low, high = field.metadata[LENGTH]
        extra.append(vol.Length(min=low, max=high))
    if ITEMS in field.metadata:
        low, high = field.metadata[ITEMS]
        extra.append(vol.Length(min=low, max=high))
    if PATTERN in field.metadata:
        extra.append(vol.Match(field.metadata[PATTERN]))
    return extra


_SCHEMAS: dict[type[EverestModel], vol.Schema] = {}


def schema_for(cls: type[EverestModel]) -> vol.Schema:
    """Derive the schema from the dataclass: required = no default, no extra keys."""
    if cls not in _SCHEMAS:
        _SCHEMAS[cls] = _derive_schema(cls)
    return _SCHEMAS[cls]


def _derive_schema(cls: type[EverestModel]) -> vol.Schema:
    hints = get_type_hints(cls)
    spec: dict[Any, Any] = {}
    for field in dataclasses.fields(cls):
        optional, inner = _is_optional(hints[field.name])
        has_default = field.default is not dataclasses.MISSING or (
            field.default_factory is not dataclasses.MISSING
        )
        key = vol.Optional(field.name) if optional or has_default else vol.Required(field.name)
        validator = _validator(inner)
        constraints = _constraints(field)
        spec[key] = vol.All(validator, *constraints) if constraints else validator
    return vol.Schema(spec)


def _build_value(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    _, tp = _is_optional(tp)
    if isinstance(tp, type) and issubclass(tp, EverestModel):
        return _build(tp, value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        return [_build_value(item, v) for v in value]
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def _build(cls: type[EverestModel], data: Mapping[str, Any]) -> EverestModel:
    hints = get_type_hints(cls)
    kwargs = {name: _build_value(hints[name], value) for name, value in data.items()}
    return cls(**kwargs)
