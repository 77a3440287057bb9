"""The course's data: yearly sunspots and Mauna Loa CO2 (``statsmodels.datasets``, offline), and
Hochreiter & Schmidhuber's (1997) adding problem."""

from __future__ import annotations

import numpy as np

__all__ = ["adding_problem", "load_co2", "load_sunspots"]


def load_sunspots():
    """Yearly mean sunspot numbers 1700-2008 (statsmodels): years (int array), values (float array)."""
    from statsmodels.datasets import sunspots

    df = sunspots.load_pandas().data
    return df["YEAR"].to_numpy().astype(int), df["SUNACTIVITY"].to_numpy(dtype=np.float64)


def load_co2():
    """Mauna Loa CO2 (ppm), weekly 1958-2001 (statsmodels), as month means with gaps interpolated.

    Returns a pandas Series indexed by month start, March 1958 to December 2001 (526 months).
    """
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    return weekly.resample("MS").mean().interpolate()


def adding_problem(N, T, rng):
    """N sequences of length T with 2 features: a value in U(0, 1) and a marker in {0, 1}.

    Exactly two steps are marked, one in each half of the sequence; the target is the sum of
    the two marked values. Predicting the mean (1.0) gives MSE = Var(u1 + u2) = 2/12 = 1/6.
    Returns x (N, T, 2) and y (N,).
    """
    values = rng.uniform(0, 1, size=(N, T))
    half = max(T // 2, 1)
    first = rng.integers(0, half, size=N)
    second = rng.integers(half, T, size=N) if T > 1 else first
    markers = np.zeros((N, T))
    markers[np.arange(N), first] = 1.0
    markers[np.arange(N), second] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = (values * markers).sum(axis=1)
    return x, y
