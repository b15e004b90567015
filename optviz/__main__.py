import sys

from optviz.cli import main

sys.exit(main())
