"""`python -m gsc_assets.instance init|reap`: a thin entry point; the work is in
defs/instance.py."""

import sys

from gsc_assets.defs.instance import main

if __name__ == "__main__":
    sys.exit(main())
