"""The tabular install stays free of Ray: search and compare never import it."""

from __future__ import annotations

import json
import subprocess
import sys

# Ray made unimportable (``sys.modules['ray'] = None``), as in an install without the [ray]
# extra: any ``import ray`` on these paths would raise ImportError and fail the command.
_SCRIPT = """
import json, sys
sys.modules['ray'] = None
from robnas.cli.main import main
codes = [main(['search', '-O', 'pgd@1/255', '--searcher', 're', '--budget', '30', '--seed', '1',
               '--data', DATA, '--out', OUT + '/runs', '--json']),
         main(['compare', '-O', 'pgd@1/255', '--searchers', 'random,re', '--seeds', '2', '--budget', '20',
               '--checkpoints', '10,20', '--data', DATA, '--out', OUT + '/cmp', '--jobs', JOBS, '-q'])]
print('RESULT', json.dumps({'codes': codes, 'ray': [m for m in sys.modules if m.split('.')[0] == 'ray'
                                                     and sys.modules[m] is not None]}))
"""


def _run(release_root, tmp_path, jobs: int) -> dict:
    script = (_SCRIPT.replace("DATA", repr(str(release_root))).replace("OUT", repr(str(tmp_path)))
              .replace("JOBS", repr(str(jobs))))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def test_tabular_search_and_compare_run_without_ray(release_root, tmp_path) -> None:
    result = _run(release_root, tmp_path, jobs=1)  # in this process: every import is seen
    assert result == {"codes": [0, 0], "ray": []}
    assert len(list((tmp_path / "cmp" / "runs").glob("*/summary.json"))) == 4


def test_the_tabular_install_does_not_require_ray() -> None:
    from importlib.metadata import requires

    required = [r for r in requires("robnas") or [] if "extra ==" not in r]
    assert required and not [r for r in required if r.lower().startswith("ray")]
    assert [r for r in requires("robnas") or [] if r.lower().startswith("ray") and 'extra == "ray"' in r]
