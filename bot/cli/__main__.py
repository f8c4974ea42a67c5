"""`python -m bot.cli`, as `rrbot`."""

import sys

from bot.cli.main import main

sys.exit(main())
