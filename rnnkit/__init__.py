"""rnnkit: what the course's notebooks import — the learner's side of the course.

- :mod:`rnnkit.checks`: ``rel_error``, the comparison every visible check uses;
- :mod:`rnnkit.data`: the data sets (sunspots and Mauna Loa CO2 from ``statsmodels.datasets``, offline)
  and the adding problem;
- :mod:`rnnkit.train`: the training loops of lessons 03-08 (the adding problem, a recurrent
  forecaster with mini-batches, clipping, Adam and early stopping);
- :mod:`rnnkit.text`: lesson 09's text, Jane Austen's *Persuasion* (``rnnkit/texts/``, offline), its
  vocabulary and encoding, a contiguous split and batches for truncated BPTT over a continuous text;
- :mod:`rnnkit.forecast`: lesson 07's data preparation and multi-step forecasting protocol;
- :mod:`rnnkit.notebook`: ``grading()`` (is a grader running this notebook?) and ``progress``, the
  progress bar of long cells (off with ``TQDM_DISABLE=1``);
- :mod:`rnnkit.given`: Adam and the readout's gradient, which lessons 03-05 train with before
  lesson 06 asks you to write them;
- :mod:`rnnkit.solved`: the answers of earlier lessons that a later lesson builds on, one module per
  lesson (``rnnkit.solved.l02_vanilla_rnn``, ...).

rnnkit never contains an answer to an exercise whose lesson is not yet released: the loops
implement none of the exercises (the recurrent layer's passes, Adam, clipping, the readout's
gradient, early stopping, windows, scaling and the forecasting functions are passed in by the
caller), and ``rnnkit.solved`` holds only lessons released before. ``rnnkit.given`` is the one
exception, explained in its docstring. rnnkit imports only numpy, matplotlib, statsmodels and tqdm.
"""
