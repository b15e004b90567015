"""The playground's lessons under their former name: ``PRESETS`` maps a name to its lesson (``.session``,
``.title``, ``.explanation``). The lessons live in :mod:`optviz.core.playground_lessons`; this module keeps the
names other code imports."""

from __future__ import annotations

from optviz.core.playground_lessons import DEFAULT_LESSON, PLAYGROUND_LESSONS, default_session

PRESETS = PLAYGROUND_LESSONS
DEFAULT_PRESET = DEFAULT_LESSON

__all__ = ["DEFAULT_PRESET", "PRESETS", "default_session"]
