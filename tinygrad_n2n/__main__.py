"""`python -m tinygrad_n2n`: the Noise2Noise command line (see `tinygrad_n2n.n2n.cli`)."""

import sys

from .n2n.cli import main

sys.exit(main())
