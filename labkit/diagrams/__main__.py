import sys

from labkit.diagrams.cli import main

sys.exit(main())
