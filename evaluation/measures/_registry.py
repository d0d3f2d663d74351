"""The measure registry: one signature, ``measure(network, batch) -> float``.

A :class:`Measure` names a function and says what it needs (test images, labels, a network,
trained weights). Built-in measures are listed in :data:`MEASURES` by import path, so reading
the registry (``robnas measures list``, the CLI's choices) imports no torch. A user's own
measure is a function with the same signature (on the command line ``-m module:function``; a
function may declare what it needs in an attribute, e.g. ``f.measure_flags = {"needs_data":
False}``, which :func:`get_measure` honours for the function and for its import path alike,
else it is taken to need test images). A user's measure is cached under a hash of its code
(:meth:`Measure.code`), so editing the function recomputes its values; a measure without a
network and data (``needs_network=False, needs_data=False``, e.g. ``params``) reads only the
cell, and its values are keyed without batch size and seed:

>>> def weight_count(network, batch):
...     return float(sum(p.numel() for p in network.parameters()))
>>> mine = Measure.from_function(weight_count, needs_data=False)
>>> mine.name, mine.needs_data, mine.uses_trained_weights
('weight_count', False, True)
>>> weight_count.measure_flags = {"needs_data": False}
>>> get_measure(weight_count).needs_data
False
>>> get_measure("synflow").needs_data
False
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from robnas.errors import MeasureError

MeasureFunction = Callable[..., float]
"""``f(network, batch, **params) -> float``."""


@dataclass(frozen=True)
class Measure:
    """A named measure and what computing it needs.

    Attributes:
        name: the name in tables, the store and on the command line.
        function: the callable, or its import path ``"module:function"`` (resolved on use).
        needs_data: reads test images (``False``: data-free; the batch only gives shapes).
        needs_labels: also reads the images' labels.
        needs_network: builds the network (``False``: only ``network.arch`` is read; without
            ``needs_data`` too, the batch is a fixed one-image data-free batch, so the value
            depends on neither batch size nor seed, which its store key leaves out).
        uses_trained_weights: runs on the released weights when ``--weights`` is given
            (``False``: always at initialisation, as zero-cost proxies are defined).
        params: keyword arguments passed to the function (part of the store's fingerprint).
        summary: one line for ``robnas measures list``.
        revision: counts the changes of a built-in measure's definition (``None``: never
            changed); part of the store's fingerprint, so values stored under an earlier
            definition no longer match and are computed again.
    """

    name: str
    function: MeasureFunction | str
    needs_data: bool = True
    needs_labels: bool = False
    needs_network: bool = True
    uses_trained_weights: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    revision: int | None = None

    @classmethod
    def from_function(cls, function: MeasureFunction, name: str | None = None, **flags: Any) -> Measure:
        """A measure for a user's function ``f(network, batch) -> float``.

        ``flags`` are the other fields (default: needs data, no labels, uses trained weights).
        """
        if not callable(function):
            raise MeasureError(f"a measure must be callable, got {type(function).__name__}")
        doc = (inspect.getdoc(function) or "").strip().splitlines()
        return cls(name or function.__name__, function, summary=doc[0] if doc else "", **flags)

    def resolve(self) -> MeasureFunction:
        """The callable (imports it when the registry holds its path)."""
        if callable(self.function):
            return self.function
        return import_function(self.function)

    def with_params(self, **params: Any) -> Measure:
        """This measure with some keyword arguments changed."""
        return replace(self, params={**self.params, **params})

    def identity(self) -> str:
        """``module:qualname`` of the function (recorded in the store's fingerprint)."""
        if isinstance(self.function, str):
            return self.function
        return f"{self.function.__module__}:{self.function.__qualname__}"

    @property
    def builtin(self) -> bool:
        """Whether this is one of :data:`MEASURES` (maybe with other parameters)."""
        return self.identity() in _BUILTIN_FUNCTIONS

    @property
    def reads_only_the_cell(self) -> bool:
        """Neither a network nor test images: the value depends on the cell alone (not on
        batch size or seed), as for ``params`` and ``flops``."""
        return not self.needs_network and not self.needs_data

    def code(self) -> str | None:
        """SHA-256 (16 hex) of a user's function's code (:func:`code_digest`), recorded in the
        store's fingerprint so an edited function is computed again; ``None`` for built-in
        measures (versioned with robnas)."""
        return None if self.builtin else code_digest(self.resolve())

    def __call__(self, network: Any, batch: Any) -> float:
        return float(self.resolve()(network, batch, **dict(self.params)))


def code_digest(function: Any) -> str:
    """SHA-256 (16 hex) of ``function``'s code: its source text (:func:`inspect.getsource`),
    else (no source file, e.g. a function made in a notebook cell or by ``exec``) its bytecode
    with its constants and names, nested functions' included. A ``functools.partial`` adds its
    arguments; a callable object, its class.
    """
    target = inspect.unwrap(function)
    extra = b""
    if isinstance(target, functools.partial):
        extra = repr((target.args, sorted(target.keywords.items()))).encode()
        target = inspect.unwrap(target.func)
    plain = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type)
    if not isinstance(target, plain) and any(isinstance(vars(k).get("__call__"), types.FunctionType)
                                             for k in type(target).__mro__):
        target = type(target)  # an instance of a Python class with __call__: the class's code
    try:
        text = inspect.getsource(target).encode()
    except (OSError, TypeError):
        code = getattr(target, "__code__", None) or getattr(getattr(target, "__func__", None), "__code__", None)
        text = _code_bytes(code) if code is not None else repr(target).encode()
    return hashlib.sha256(text + extra).hexdigest()[:16]


def _code_bytes(code: types.CodeType) -> bytes:
    """Bytecode, names and constants of ``code`` (nested code objects by their own bytes)."""
    parts = [code.co_code, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    for const in code.co_consts:
        parts.append(_code_bytes(const) if isinstance(const, types.CodeType) else repr(const).encode())
    return b"\x00".join(parts)


def import_function(path: str) -> MeasureFunction:
    """The callable at ``"module:function"`` (also ``"module.function"``)."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise MeasureError(f"{path!r} is not a measure name or an import path 'module:function'")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as err:
        raise MeasureError(f"cannot import measure {path!r}: {err}") from None
    if not callable(target):
        raise MeasureError(f"{path!r} is not callable")
    return target


_Z = "robnas.evaluation.measures._gradient:"
_A = "robnas.evaluation.measures._activation:"
_R = "robnas.evaluation.measures._robustness:"
_C = "robnas.evaluation.measures._cost:"
_ZERO_COST = {"uses_trained_weights": False}

MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("synflow", _Z + "synflow", needs_data=False, **_ZERO_COST,
                summary="sum |theta * dR/dtheta|, R = sum of outputs on an all-ones input, |weights|, float64, no BN"),
        Measure("snip", _Z + "snip", needs_labels=True, **_ZERO_COST,
                summary="sum |theta * dL/dtheta| (connection sensitivity), cross-entropy on one batch"),
        Measure("grasp", _Z + "grasp", needs_labels=True, **_ZERO_COST,
                summary="sum -theta * (H g): gradient signal preservation, Hessian-gradient product"),
        Measure("fisher", _Z + "fisher", needs_labels=True, **_ZERO_COST, revision=2,  # 2: times fan-in
                summary="sum over conv/linear output channels of fan_in * 0.5 * mean_n (sum_hw a * dL/da)^2"),
        Measure("grad_norm", _Z + "grad_norm", needs_labels=True, **_ZERO_COST,
                summary="sum over layers of ||dL/dW||_2"),
        Measure("plain", _Z + "plain", needs_labels=True, **_ZERO_COST,
                summary="sum theta * dL/dtheta (signed)"),
        Measure("l2_norm", _Z + "l2_norm", needs_data=False, **_ZERO_COST,
                summary="sum over layers of ||W||_2 (Frobenius) of the initial weights"),
        Measure("jacov", _A + "jacov", **_ZERO_COST, revision=2,  # 2: gradients of normalised images
                summary="-sum(log(v + k) + 1/(v + k)), v = eigenvalues of the input-gradient correlations"),
        Measure("nwot", _A + "nwot", **_ZERO_COST,
                summary="NASWOT: log|det K|, K = Hamming-agreement kernel of ReLU activation codes"),
        Measure("epe_nas", _A + "epe_nas", needs_labels=True, **_ZERO_COST, revision=2,  # 2: see jacov; singletons
                summary="EPE-NAS: per-class input-gradient correlation score"),
        Measure("zen", _A + "zen", needs_data=False, **_ZERO_COST,
                summary="Zen-score: log E|f(x) - f(x + 0.01 e)| + sum log sqrt(mean BN var), Gaussian init and inputs"),
        Measure("jacobian_norm", _R + "jacobian_norm",
                summary="mean over images of the Frobenius norm of d logits / d image"),
        Measure("hessian_eigenvalue", _R + "hessian_eigenvalue", needs_labels=True,
                params={"iterations": 20, "tolerance": 1e-3},
                summary="mean over images of the top eigenvalue of d^2 loss / d image^2 (power iteration)"),
        Measure("params", _C + "params", needs_data=False, needs_network=False, uses_trained_weights=False,
                summary="parameters of the NB201 network, millions (robnas.cost; no network built)"),
        Measure("flops", _C + "flops", needs_data=False, needs_network=False, uses_trained_weights=False,
                summary="FLOPs of the NB201 network, millions of MACs per image (robnas.cost)"),
    )
}
"""Built-in measures by name: zero-cost proxies at initialisation, the robustness measures, the cost."""

_BUILTIN_FUNCTIONS = frozenset(m.identity() for m in MEASURES.values())


FLAG_FIELDS = tuple(f.name for f in fields(Measure) if f.name not in {"name", "function"})
"""The fields a function may set in its ``measure_flags`` attribute."""


def declared_flags(function: MeasureFunction) -> dict[str, Any]:
    """What ``function`` declares it needs: its ``measure_flags`` attribute (``{}`` without one).

    Raises:
        MeasureError: the attribute is not a mapping, or names a field :class:`Measure` lacks.
    """
    flags = getattr(function, "measure_flags", None)
    if flags is None:
        return {}
    name = getattr(function, "__name__", type(function).__name__)
    if not isinstance(flags, Mapping):
        raise MeasureError(f"{name}.measure_flags must be a dict, got {type(flags).__name__}")
    unknown = sorted(str(key) for key in flags if key not in FLAG_FIELDS)
    if unknown:
        raise MeasureError(f"{name}.measure_flags: unknown {', '.join(map(repr, unknown))}; "
                           f"known: {', '.join(FLAG_FIELDS)}")
    return dict(flags)


def get_measure(measure: str | Measure | MeasureFunction) -> Measure:
    """A :class:`Measure` from a registry name, an import path ``module:function``, a
    :class:`Measure` or a function ``f(network, batch) -> float``.

    A function (given itself or by its import path) is taken with what its ``measure_flags``
    attribute declares (:func:`declared_flags`), e.g. ``{"needs_data": False}``.
    """
    if isinstance(measure, Measure):
        return measure
    if callable(measure):
        return Measure.from_function(measure, **declared_flags(measure))
    text = str(measure).strip()
    if text in MEASURES:
        return MEASURES[text]
    if ":" in text:
        function = import_function(text)
        return Measure.from_function(function, name=text.rpartition(":")[2], **declared_flags(function))
    raise MeasureError(f"unknown measure {text!r}; choose from {', '.join(MEASURES)} "
                       "or give your own as module:function")
