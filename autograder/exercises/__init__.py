"""Every graded exercise of the course, by grade id, with its hidden tests and planted bugs.

One module per lesson (``l02_vanilla_rnn.py`` for ``solutions/02_vanilla_rnn``); each defines
``EXERCISES``, a list of :class:`autograder.checking.Exercise`.
"""

import importlib
import pkgutil
import re

EXERCISES = {}
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not re.match(r"l\d\d_", _info.name):  # shared helpers, not a lesson
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _exercise in _module.EXERCISES:
        if _exercise.grade_id in EXERCISES:
            raise ValueError(f"duplicate grade id {_exercise.grade_id}")
        EXERCISES[_exercise.grade_id] = _exercise

from . import alternatives  # noqa: E402, F401 - registers correct answers written in other styles
