"""Reference implementations, written independently of the notebooks.

The notebooks' hidden tests compare learners' answers with these; the test suite
checks these against finite differences and, when installed, PyTorch.
"""

from .ablation import *  # noqa: F403
from .bptt import *  # noqa: F403
from .charlm import *  # noqa: F403
from .forecasting import *  # noqa: F403
from .gru import *  # noqa: F403
from .loops import *  # noqa: F403
from .lstm import *  # noqa: F403
from .optim import *  # noqa: F403
from .readout import *  # noqa: F403
from .rnn import *  # noqa: F403
from .training import *  # noqa: F403
