"""The learning-rate schedule registry, shared with the playground: it lives in :mod:`optviz.core.schedules`."""

from __future__ import annotations

from optviz.core.schedules import (COSINE, EXPONENTIAL, NONE, SCHEDULES, STEP, TIME, Builder,  # noqa: F401
                                   ScheduleSpec)
