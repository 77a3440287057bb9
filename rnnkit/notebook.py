"""How a lesson's notebook knows where it runs, and the progress bars of its long cells.

- :func:`grading`: True while a grader executes the notebook (nbgrader's autograde or validate,
  the course's self-check). A cell that only demonstrates, and that no grade depends on, may then
  load its stored result instead of training again.
- :func:`progress`: a tqdm progress bar around an iterable. It is on by default; setting the
  environment variable ``TQDM_DISABLE=1`` turns every bar off (tqdm reads ``TQDM_*`` variables),
  which is how stored outputs are made and compared.
"""

from __future__ import annotations

import os

__all__ = ["grading", "progress"]


def grading() -> bool:
    """True while nbgrader (autograde / validate) or the self-check executes the notebook."""
    return os.environ.get("NBGRADER_EXECUTION", "") in ("autograde", "validate")


def progress(iterable, desc=None, total=None):
    """``iterable`` wrapped in a tqdm bar (a widget in Jupyter, text elsewhere); off with TQDM_DISABLE=1."""
    from tqdm.auto import tqdm

    # tqdm's notebook bar turns an absent ``disable`` into False, overriding TQDM_DISABLE: read it here
    disable = os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false")
    return tqdm(iterable, desc=desc, total=total, leave=False, disable=disable)
