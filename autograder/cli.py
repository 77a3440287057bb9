"""Command line: ``python -m autograder <command>``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="grade your notebooks in lessons/ and print a scorecard",
                       description="Grade lessons/ (hidden tests included) without changing your files. "
                       "Exit status: 0 when every requested lesson was graded, whatever the score; "
                       "1 when some lesson could not be graded (the scorecard says why); 2 on bad usage.")
    p.add_argument("lessons", nargs="*", help="lesson ids such as 01_feedback_loops or 01 (default: all)")
    p.add_argument("--dir", default=None, help="folder holding the lesson folders (default: lessons/)")
    p.add_argument("--timeout", type=int, default=60, help="seconds a cell may run (default 60)")
    p.add_argument("--budget", type=int, default=600, help="seconds a lesson may run (default 600)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")

    p = sub.add_parser("build", help="generate lessons/ from solutions/ with nbgrader")
    p.add_argument("lessons", nargs="*")
    p.add_argument("--check", action="store_true", help="fail (exit 1) if lessons/ differs; change nothing")

    p = sub.add_parser("execute", help="re-run solution notebooks and store their outputs")
    p.add_argument("lessons", nargs="*")

    p = sub.add_parser("release", help="what students get for some lessons: notebooks, rnnkit, requirements",
                       description="Write DIR/release/<lesson>/ (nbgrader's student versions), DIR/rnnkit/ "
                       "(the student package with the answers of earlier lessons only), DIR/requirements.txt "
                       "and DIR/README.md. Exit status 1 (one line) for a set of lessons that would hand out "
                       "an answer of one of them; 2 for an unknown lesson.")
    p.add_argument("lessons", nargs="+", help="lesson ids such as 03 or 03_bptt")
    p.add_argument("--out", required=True, help="folder to write (new, empty, or an earlier release)")
    p.add_argument("--wheel", action="store_true", help="also build an rnnkit wheel (pip wheel, offline)")

    p = sub.add_parser("grade", help="autograde every collected submission with nbgrader, in parallel",
                       description="Check the grader on each lesson's solution, then autograde "
                       "submitted/<student>/<lesson>/ with nbgrader (hardened by nbgrader_config.py), in "
                       "parallel, and export grades to CSV. Without a lesson, only new or changed submissions "
                       "are graded. Exit status: 0 when every selected submission was graded; 1 when grading "
                       "could not start (one line says why) or some submission failed or was not gradable.")
    p.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson with new or changed submissions)")
    p.add_argument("--jobs", type=int, default=None, help="parallel autograde processes (default: cores)")
    p.add_argument("--db", default=None, help="gradebook SQLAlchemy URL (default: sqlite:///gradebook.db; "
                   "postgresql://user@host/db needs pip install -e \".[postgres]\")")
    p.add_argument("--csv", default="grades.csv", help="where to export the grades (default grades.csv)")
    p.add_argument("--timeout", type=int, default=None, help="seconds a cell may run (default: config, 60)")
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="grade only share K of N of the students (stable and disjoint: one per grading machine)")
    p.add_argument("--students", default=None, metavar="ID,ID,...", help="grade only these students")
    p.add_argument("--all", dest="regrade_all", action="store_true",
                   help="without a lesson: re-grade every submission, not only new or changed ones")
    p.add_argument("--unsafe", action="store_true",
                   help="run students' code WITHOUT the bubblewrap sandbox, with your rights (not recommended)")

    p = sub.add_parser("experiments", help="run the experiments behind lessons 07-09 (JSON lines)")
    p.add_argument("names", nargs="*", help="experiment names (default: all)")
    p.add_argument("--quick", action="store_true", help="a small version, for a smoke test")
    p.add_argument("--out", default=None, help="also write the JSON lines to this file")
    p.add_argument("--table", action="store_true",
                   help="print the markdown results table from the committed result files instead")

    p = sub.add_parser("diagrams", help="redraw the lessons' diagrams (SVG, in solutions/)")
    p.add_argument("--out", default=None, help="write them into this folder instead of solutions/")

    sub.add_parser("catalogue", help="planted bugs killed / total per exercise, and other-style answers")

    p = sub.add_parser("bench", help="time what users wait for")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--only", default="notebooks,check,autograde,grade,torch",
                   help="comma-separated sections (default: all)")

    args = parser.parse_args(argv)
    # nbgrader runs tools of its environment (alembic) as subprocesses: put them on PATH.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if args.command == "check":
        from autograder.course import LESSONS
        from autograder.selfcheck import run_check

        return run_check(args.lessons, Path(args.dir) if args.dir else LESSONS, args.timeout,
                         args.budget, args.json)
    if args.command == "build":
        from autograder.build import BuildError, build

        try:
            differ = build(args.lessons, check=args.check)
        except BuildError as exc:
            print(f"build failed: {exc} (lessons/ was left as it was)", file=sys.stderr)
            return 1
        if args.check:
            for target in differ:
                print(f"{target} is out of date with solutions/: run `make build`")
            return 1 if differ else 0
        print(f"regenerated: {', '.join(differ) or 'nothing (already up to date)'}")
        return 0
    if args.command == "execute":
        from autograder.notebooks import execute_solutions

        return execute_solutions(args.lessons)
    if args.command == "release":
        from autograder.release import main as release

        return release(args.lessons, args.out, wheel=args.wheel)
    if args.command == "grade":
        from autograder.grade import grade

        students = [s.strip() for s in args.students.split(",") if s.strip()] if args.students else None
        return grade(args.lessons, args.jobs, args.db, args.csv, timeout=args.timeout, unsafe=args.unsafe,
                     shard=args.shard, students=students, regrade_all=args.regrade_all)
    if args.command == "experiments":
        if args.table:
            from autograder.experiments.table import load, markdown

            print(markdown(load()))
            return 0
        from autograder.experiments import run_all

        return run_all(args.names, args.quick, args.out)
    if args.command == "diagrams":
        from autograder.diagrams import main as diagrams

        return diagrams(["--out", args.out] if args.out else [])
    if args.command == "catalogue":
        from autograder.catalogue import report

        return report()
    if args.command == "bench":
        from autograder.bench import bench

        return bench(args.repeat, args.only.split(","))
    return 2
