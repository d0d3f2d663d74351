"""Fixtures for the live-backend tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _single_torch_thread() -> Iterator[None]:
    """Run torch on one thread: the tests' networks are tiny, and on a shared, busy CPU
    torch's worker threads spin-wait, making a 3-image forward pass take a second."""
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
