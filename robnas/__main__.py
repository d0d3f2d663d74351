"""``python -m robnas``: the same as the ``robnas`` command."""

import sys

from robnas.cli.main import main

sys.exit(main())
