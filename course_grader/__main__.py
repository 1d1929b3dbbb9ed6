"""``python -m course_grader <assignment>``: autograde a class (see :mod:`course_grader.grade`)."""

import sys

from .grade import main

sys.exit(main())
