"""The answers of earlier lessons, for the lessons that build on them.

One module per lesson, named after the lesson's folder: ``l02_vanilla_rnn`` holds lesson 02's
answers (``rnn_step_forward``, ``rnn_forward``, ...), ``l03_bptt`` lesson 03's, and so on. Each is
generated from the lesson's solution notebook by ``make build`` (``python -m autograder build``),
which fails ``--check`` when a module and its notebook drift apart; do not edit them.

A lesson's notebook imports an earlier lesson's functions only as
``from rnnkit.solved.l03_bptt import clip_grad_norm``, never its own. An instructor who releases
lessons one at a time includes only the modules of the lessons *before* the earliest lesson being
released: a learner working on lesson 04 gets ``l01_feedback_loops`` to ``l03_bptt`` but never
``l04_lstm``, and a notebook that reaches for a module that was not released stops at once with an
ImportError that names it.
"""
