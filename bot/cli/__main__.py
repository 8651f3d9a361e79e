"""`python -m bot.cli`: the presswatch command."""

import sys

from bot.cli.main import main

sys.exit(main())
