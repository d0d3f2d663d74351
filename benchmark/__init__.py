"""The tabular oracle over the released robustness data (installed as ``robnas.benchmark``).

Public API: :class:`TabularOracle`, plus the pieces it is built from for those who need them.
"""

from robnas.benchmark.archive import ChecksumMismatchError, UnsafeArchiveError
from robnas.benchmark.cache import ArrayCache
from robnas.benchmark.checksums import RELEASE_SHA256, expected_files, pinned_sha256
from robnas.benchmark.data_info import DataInfo, describe
from robnas.benchmark.download import DownloadError, RetryPolicy, fetch
from robnas.benchmark.install import (
    DEFAULT_BASE_URL,
    InstallReport,
    download_release,
    import_release,
)
from robnas.benchmark.location import default_data_dir, resolve_data_root
from robnas.benchmark.meta import SpaceMeta
from robnas.benchmark.release import ResultFile, inventory, result_path
from robnas.benchmark.table import ResultTable
from robnas.benchmark.tabular_oracle import TabularOracle

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
