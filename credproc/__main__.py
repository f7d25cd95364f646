import sys

from credproc.cli import main

sys.exit(main())
