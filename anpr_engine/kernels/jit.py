"""How every kernel is compiled: the numba flags in one place.

All kernels are cached on disk (`cache`) and release the GIL (`nogil`); none is parallel or uses
fastmath, none has explicit signatures (numba compiles a version per argument types: the wrappers
check dtypes, so an unexpected one is refused rather than compiled), and bounds are not checked at
run time (numba's default: the wrappers check shapes and sizes instead).

    kernel          a kernel or a helper called from one
    inlined         a small helper inlined into its callers (at numba IR level, before LLVM)
    kernel_no_nrt   compiled without numba's reference counting: for kernels that allocate nothing,
                    where the atomic increments around every call with array arguments cost more
                    than the work (the JSON parser: 650 -> 300 ns per 205-byte read)
    inlined_no_nrt  both

The decorators are typed as returning the function they decorate, so mypy checks the wrappers'
calls against the kernels' Python signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])

FLAGS: dict[str, Any] = {"cache": True, "nogil": True}


class Decorator(Protocol):
    def __call__(self, fn: F, /) -> F: ...


def _njit(**extra: Any) -> Decorator:
    return cast(Decorator, numba.njit(**FLAGS, **extra))


kernel = _njit()
inlined = _njit(inline="always")
kernel_no_nrt = _njit(_nrt=False)
inlined_no_nrt = _njit(inline="always", _nrt=False)
