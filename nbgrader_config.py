"""nbgrader configuration: run nbgrader's own commands from the repository root.

solutions/<lesson>/<lesson>.ipynb is nbgrader's "source", lessons/<lesson>/ its "release".
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = "."
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
# A cell that runs longer than this is stopped and counted as failed.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
