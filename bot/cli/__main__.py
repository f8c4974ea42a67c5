"""`python -m bot.cli`, as `rrbot`."""

import sys

from bot.cli import main

sys.exit(main())
