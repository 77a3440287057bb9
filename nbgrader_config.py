"""nbgrader configuration: run nbgrader's own commands from the repository root.

solutions/<lesson>/<lesson>.ipynb is nbgrader's "source", lessons/<lesson>/ its "release".
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))  # the folder of this file
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.CourseDirectory.course_id = "rnn-course"

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"Exercise: replace this line with your code\")"
}
# Student versions start without outputs; solutions keep theirs.
c.ClearOutput.enabled = True

# Hardening (see autograder/nbgrader_plugins.py): students' code runs only in a bubblewrap sandbox,
# hidden tests never enter the student's kernel, every graded cell shows (and scores) only the verdict
# of the out-of-kernel check, deleted test cells come back, execution survives hostile code, outputs
# are sanitised, feedback hides hidden tests. Without bubblewrap, autograding stops here with one line,
# unless AUTOGRADER_UNSAFE=1 (or --SafeExecute.unsafe=True) asks for grading without a sandbox.
import sys  # noqa: E402

from autograder.sandbox import INSTALL_HINT, bwrap_path, unsafe_requested  # noqa: E402

_unsafe = unsafe_requested() or any(a.lower() in ("--safeexecute.unsafe=true", "--safeexecute.unsafe=1")
                                    for a in sys.argv)
if "autograde" in sys.argv[1:3] and not bwrap_path() and not _unsafe:
    sys.exit(f"nbgrader autograde: no sandbox for students' code: {INSTALL_HINT}, or set AUTOGRADER_UNSAFE=1")
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograder.nbgrader_plugins import (  # noqa: E402
    ReleaseAwareOverwriteCells,
    SafeExecute,
    SanitizeOutputs,
    ShortTracebacks,
    VerifyAnswers,
)

# Intake (autograder/intake.py): collect and autograde copy only the regular files a student handed in,
# never through a link, never a FIFO or device, bounded in size and count; what is refused is logged
# and shown at the top of that student's feedback; a notebook that is a link is not gradable (0).
from autograder import intake  # noqa: E402

c.ExchangeFactory.collect = "autograder.intake.SafeExchangeCollect"
intake.install()  # `nbgrader autograde` (and formgrader) run intake.SafeAutograde

c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, ReleaseAwareOverwriteCells, CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    SafeExecute, VerifyAnswers, intake.IntakeReport, SanitizeOutputs, IgnorePattern, ClearMetadataPreprocessor,
    LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
c.GenerateFeedback.preprocessors = [
    ClearHiddenTests, ShortTracebacks, SanitizeOutputs, GetGrades, CSSHTMLHeaderPreprocessor,
]
c.SafeExecute.timeout = 60
if _unsafe:
    c.SafeExecute.unsafe = True

# ---- Grading at scale (autograder/precheck.py, autograder/export.py) -------------------------------------
# Before `nbgrader autograde` touches the gradebook, the lesson's solution is graded in the same sandbox
# and environment and must earn full marks, else it stops with one line (once per lesson and environment:
# a pass is cached in .autograder-precheck.json). `nbgrader export` adds a `submitted` column and leaves
# the scores of a lesson not submitted blank (nbgrader's own export writes 0, like a submitted stub).
from autograder.precheck import nbgrader_hook  # noqa: E402

nbgrader_hook(c)
c.ExportApp.plugin_class = "autograder.export.GradesExport"
# Quiet logs (autograder/quiet.py): no SQLAlchemy "not in session" or `display_data_priority` noise, and
# every image in feedback carries alternative text (from the titles its cell sets).
from autograder.quiet import AltText, quiet_logs  # noqa: E402

quiet_logs()
c.GenerateFeedback.preprocessors = [*c.GenerateFeedback.preprocessors, AltText]
# ---- end of grading at scale ------------------------------------------------------------------------------
