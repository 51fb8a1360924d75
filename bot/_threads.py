"""How many threads the numeric libraries under the bot may use while it serves.

:func:`leave_the_event_loop_a_core` runs before the service loads the encoders
(``run_bot``), since OpenMP reads its variables once, when it loads.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from threadpoolctl import threadpool_limits

OPENMP_WHILE_SERVING = {"OMP_THREAD_LIMIT": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def leave_the_event_loop_a_core(environ: MutableMapping[str, str] = os.environ) -> None:
    """One thread each for the e5 encoder's OpenMP (sleeping, not spinning, while it waits) and numpy's BLAS.

    The bot answers questions in parallel on its engine threads; it gains nothing from splitting
    one question's work across the cores too. With OpenMP's defaults it did, and each thread spun
    at every barrier while its partner was descheduled: on a busy two-core machine a question took
    80-230 ms of CPU instead of 17, and the event-loop thread waited up to 300 ms for a CPU.
    OpenBLAS's second thread likewise spun through the small products of every search: twice the
    CPU for the same wall time. An operator's own settings (the variables, or
    ``OPENBLAS_NUM_THREADS``) win.
    """
    for name, value in OPENMP_WHILE_SERVING.items():
        environ.setdefault(name, value)
    if "OPENBLAS_NUM_THREADS" not in environ:
        threadpool_limits(limits=1, user_api="blas")  # numpy is loaded already: its pool is resized in place
