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

# Hardening (see autograder/nbgrader_plugins.py): deleted test cells come back, execution survives
# hostile code, every exercise is re-checked outside the learner's kernel, feedback hides hidden tests.
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from autograder.nbgrader_plugins import SafeExecute, ShortTracebacks, VerifyAnswers  # noqa: E402

c.OverwriteCells.add_missing_cells = True
c.Autograde.autograde_preprocessors = [
    SafeExecute, VerifyAnswers, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
c.GenerateFeedback.preprocessors = [ClearHiddenTests, ShortTracebacks, GetGrades, CSSHTMLHeaderPreprocessor]
c.SafeExecute.timeout = 60
