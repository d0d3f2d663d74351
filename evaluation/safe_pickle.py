"""Load pickles without running arbitrary code from them.

NATS-Bench's weight archive and the CIFAR / ImageNet16 test batches are Python pickles. A
plain :func:`pickle.load` imports and calls whatever global the file names (``os.system``
included), so robnas reads them with :class:`RestrictedUnpickler`: every global the stream
asks for must be on an explicit allow-list that maps ``(module, name)`` to the object to use
in its place; anything else raises :class:`UnsafePickleError` naming the refused global,
before it is imported, let alone called.

Two allow-lists are defined here:

* :func:`numpy_globals` for numpy arrays and scalars (what the dataset pickles need);
* :func:`torch_tensor_globals` for ``torch`` tensors pickled with :mod:`pickle` (what the
  NATS-Bench archive needs). A pickled tensor is ``torch._utils._rebuild_tensor_v2(storage,
  offset, size, stride, ...)`` whose storage is ``torch.storage._load_from_bytes(raw)``.
  Neither torch function is called: torch's ``_load_from_bytes`` runs
  ``torch.load(raw, weights_only=False)``, which would reopen the door. They are replaced by
  :class:`DeferredStorage` / :class:`DeferredTensor`, which keep the bytes and, only when a
  tensor is asked for, decode them with ``weights_only=True`` (torch's own restricted
  unpickler), check that the tensor lies inside its storage, and build it on the CPU. Decoding
  lazily also makes reading a file that holds dozens of networks cheap when one is wanted.

>>> import io, pickle
>>> load_restricted(io.BytesIO(pickle.dumps({"a": [1, 2.5, "x"]})), {}, source="example")
{'a': [1, 2.5, 'x']}
"""

from __future__ import annotations

import io
import pickle
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import IO, Any

from robnas.errors import DataFormatError, UnsafePickleError

AllowList = Mapping[tuple[str, str], Callable[[], Any]]
"""``(module, name)`` -> a zero-argument function returning the object to use for it."""



class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals on an allow-list.

    Args:
        file: a binary file object positioned at the pickle.
        allowed: ``(module, name)`` -> zero-argument function returning the object to use.
        source: what is being read (a path), for error messages.
        encoding: how to decode Python 2 ``str`` objects (``"latin1"`` for the CIFAR and
            ImageNet16 batches, which were pickled by Python 2).
    """

    def __init__(self, file: IO[bytes], allowed: AllowList, *, source: str, encoding: str = "ASCII") -> None:
        super().__init__(file, encoding=encoding)
        self._allowed = allowed
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        factory = self._allowed.get((module, name))
        if factory is None:
            raise UnsafePickleError(
                f"{self._source}: refused to load the global {module}.{name} "
                "(not something this file format contains; the file may be corrupt or malicious)"
            )
        return factory()

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: refused a persistent id in the pickle stream")


def load_restricted(file: IO[bytes], allowed: AllowList, *, source: str, encoding: str = "ASCII") -> Any:
    """Unpickle one object from ``file`` resolving only ``allowed`` globals.

    Raises:
        UnsafePickleError: the stream names a global outside ``allowed``.
        DataFormatError: the stream is truncated or not a pickle.
    """
    try:
        return RestrictedUnpickler(file, allowed, source=source, encoding=encoding).load()
    except DataFormatError as exc:  # raised by an allowed reconstructor (a tensor storage)
        if str(exc).startswith(source):
            raise
        raise type(exc)(f"{source}: {exc}") from exc
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise DataFormatError(f"{source}: not a readable pickle ({type(exc).__name__}: {exc})") from exc


def _ordered_dict() -> Any:
    return OrderedDict


def _numpy_reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return _reconstruct


def _numpy_scalar() -> Any:
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    return scalar


def _numpy_frombuffer() -> Any:
    try:
        from numpy._core.numeric import _frombuffer
    except ImportError:  # numpy < 2
        from numpy.core.numeric import _frombuffer  # type: ignore[no-redef]
    return _frombuffer


def _numpy_ndarray() -> Any:
    import numpy

    return numpy.ndarray


def _numpy_dtype() -> Any:
    import numpy

    return numpy.dtype


def _codecs_encode() -> Any:
    import codecs

    return codecs.encode


def numpy_globals() -> dict[tuple[str, str], Callable[[], Any]]:
    """Globals that pickled numpy arrays and scalars refer to (numpy 1 and 2 module names).

    ``_codecs.encode`` is how Python 3 pickles ``bytes`` at protocol 2 (a pure function from a
    string to bytes).
    """
    allowed: dict[tuple[str, str], Callable[[], Any]] = {("_codecs", "encode"): _codecs_encode}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = _numpy_reconstruct
        allowed[(module, "scalar")] = _numpy_scalar
    for module in ("numpy.core.numeric", "numpy._core.numeric"):  # protocol 5 arrays
        allowed[(module, "_frombuffer")] = _numpy_frombuffer
    allowed[("numpy", "ndarray")] = _numpy_ndarray
    allowed[("numpy", "dtype")] = _numpy_dtype
    return allowed


class DeferredStorage:
    """A tensor storage as pickled by torch (``torch.save`` bytes), decoded only when needed.

    Decoding uses ``torch.load(..., weights_only=True)`` (torch's own restricted unpickler),
    never the ``weights_only=False`` call of torch's ``_load_from_bytes``.
    """

    __slots__ = ("_loaded", "raw")

    def __init__(self, raw: bytes) -> None:
        if not isinstance(raw, bytes):
            raise DataFormatError(f"a tensor storage must be bytes, got {type(raw).__name__}")
        self.raw = raw
        self._loaded: Any = None

    def load(self) -> Any:
        """The storage (a ``torch.TypedStorage`` on the CPU)."""
        if self._loaded is None:
            import torch

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # TypedStorage deprecation
                try:
                    storage = torch.load(io.BytesIO(self.raw), map_location="cpu", weights_only=True)
                except pickle.UnpicklingError as exc:
                    raise UnsafePickleError(f"a tensor storage in the pickle was refused by torch: {exc}") from exc
                except (RuntimeError, EOFError, ValueError) as exc:
                    raise DataFormatError(f"a tensor storage in the pickle is unreadable: {exc}") from exc
            if not isinstance(storage, torch.TypedStorage):
                raise DataFormatError(f"a tensor storage decoded to a {type(storage).__name__}")
            self._loaded = storage
        return self._loaded


class DeferredTensor:
    """A pickled tensor (``torch._utils._rebuild_tensor_v2`` arguments), built on demand.

    Reading a NATS-Bench file decodes only the structure; the few hundred tensors of the one
    trial asked for are built by :meth:`materialize`, the rest never are.
    """

    __slots__ = ("offset", "size", "storage", "stride")

    def __init__(self, storage: Any, offset: Any, size: Any, stride: Any) -> None:
        if not isinstance(storage, DeferredStorage):
            raise DataFormatError(f"a tensor's storage must come from torch.storage, got {type(storage).__name__}")
        if not (_is_int(offset) and _is_int_tuple(size) and _is_int_tuple(stride) and len(size) == len(stride)):
            raise DataFormatError(f"malformed tensor geometry: offset={offset!r} size={size!r} stride={stride!r}")
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def materialize(self) -> Any:
        """The tensor (CPU), after checking that it lies inside its storage."""
        import torch

        storage = self.storage.load()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # TypedStorage deprecation
            numel = storage.size()
            untyped = storage.untyped()
        if self.offset < 0 or any(d < 0 for d in self.size) or any(s < 0 for s in self.stride):
            raise DataFormatError(f"negative tensor geometry: offset={self.offset} size={self.size}")
        if 0 not in self.size:
            last = self.offset + sum((d - 1) * s for d, s in zip(self.size, self.stride, strict=True))
            if last >= numel:
                raise DataFormatError(f"a tensor of size {self.size} reaches past its storage of {numel} elements")
        return torch.empty((0,), dtype=storage.dtype).set_(untyped, self.offset, self.size, self.stride)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int_tuple(value: Any) -> bool:
    return isinstance(value, tuple | list) and all(_is_int(v) for v in value)


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> DeferredTensor:
    """Stand-in for torch's ``_rebuild_tensor`` / ``_rebuild_tensor_v2`` (extra arguments:
    ``requires_grad``, backward hooks and metadata, are dropped: weights need none of them)."""
    return DeferredTensor(storage, offset, size, stride)


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    """Stand-in for torch's ``_rebuild_parameter``: the parameter's data, as a plain tensor."""
    if not isinstance(data, DeferredTensor):
        raise DataFormatError(f"a parameter must wrap a tensor, got {type(data).__name__}")
    return data


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def torch_tensor_globals() -> dict[tuple[str, str], Callable[[], Any]]:
    """Globals of ``torch`` tensors pickled with :mod:`pickle` (torch 1.x and 2.x), plus numpy's.

    Tensors come back as :class:`DeferredTensor`; call :meth:`DeferredTensor.materialize`.
    """
    allowed = numpy_globals()
    allowed[("collections", "OrderedDict")] = _ordered_dict
    allowed[("torch.storage", "_load_from_bytes")] = _constant(DeferredStorage)
    allowed[("torch._utils", "_rebuild_tensor")] = _constant(_rebuild_tensor)
    allowed[("torch._utils", "_rebuild_tensor_v2")] = _constant(_rebuild_tensor)
    allowed[("torch._utils", "_rebuild_parameter")] = _constant(_rebuild_parameter)
    return allowed
