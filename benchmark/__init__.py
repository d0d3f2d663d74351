"""The tabular oracle over the released robustness data (installed as ``robnas.benchmark``).

Public API: :class:`TabularOracle`, plus the pieces it is built from for those who need them.
Names are resolved on first access (PEP 562), so ``from robnas.benchmark import TabularOracle``
does not import the download and archive machinery (cold queries stay fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robnas._lazy import lazy_exports

_EXPORTS = {
    "ChecksumMismatchError": "robnas.errors",
    "UnsafeArchiveError": "robnas.errors",
    "ArrayCache": "robnas.benchmark.cache",
    "RELEASE_SHA256": "robnas.benchmark.checksums",
    "expected_files": "robnas.benchmark.checksums",
    "pinned_sha256": "robnas.benchmark.checksums",
    "DataInfo": "robnas.benchmark.data_info",
    "describe": "robnas.benchmark.data_info",
    "DownloadError": "robnas.errors",
    "RetryPolicy": "robnas.benchmark.download",
    "fetch": "robnas.benchmark.download",
    "DEFAULT_BASE_URL": "robnas.benchmark.install",
    "InstallReport": "robnas.benchmark.install",
    "download_release": "robnas.benchmark.install",
    "import_release": "robnas.benchmark.install",
    "default_data_dir": "robnas.benchmark.location",
    "resolve_data_root": "robnas.benchmark.location",
    "SpaceMeta": "robnas.benchmark.meta",
    "ResultFile": "robnas.benchmark.release",
    "inventory": "robnas.benchmark.release",
    "result_path": "robnas.benchmark.release",
    "ResultTable": "robnas.benchmark.table",
    "TabularOracle": "robnas.benchmark.tabular_oracle",
}

__all__ = [
    "DEFAULT_BASE_URL",
    "RELEASE_SHA256",
    "ArrayCache",
    "ChecksumMismatchError",
    "DataInfo",
    "DownloadError",
    "InstallReport",
    "ResultFile",
    "ResultTable",
    "RetryPolicy",
    "SpaceMeta",
    "TabularOracle",
    "UnsafeArchiveError",
    "default_data_dir",
    "describe",
    "download_release",
    "expected_files",
    "fetch",
    "import_release",
    "inventory",
    "pinned_sha256",
    "resolve_data_root",
    "result_path",
]

if TYPE_CHECKING:
    from robnas.benchmark.cache import ArrayCache
    from robnas.benchmark.checksums import RELEASE_SHA256, expected_files, pinned_sha256
    from robnas.benchmark.data_info import DataInfo, describe
    from robnas.benchmark.download import RetryPolicy, fetch
    from robnas.benchmark.install import DEFAULT_BASE_URL, InstallReport, download_release, import_release
    from robnas.benchmark.location import default_data_dir, resolve_data_root
    from robnas.benchmark.meta import SpaceMeta
    from robnas.benchmark.release import ResultFile, inventory, result_path
    from robnas.benchmark.table import ResultTable
    from robnas.benchmark.tabular_oracle import TabularOracle
    from robnas.errors import ChecksumMismatchError, DownloadError, UnsafeArchiveError


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
