"""Recurrent networks from feedback loops to gates: references, hidden tests and grading tools.

``python -m autograder --help`` lists the commands (check, build, execute, bench).
"""
