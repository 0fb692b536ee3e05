"""A griffe extension for the API reference: peereval's docstrings title their doctests
``Example:``, which the Google-style parser reads as a prose admonition (so ``d["status"]`` becomes
a broken Markdown link); renamed to ``Examples:`` they render as code blocks."""

from __future__ import annotations

import re
from typing import Any

import griffe

_TITLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class DoctestExamples(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _TITLE.sub(r"\1Examples:", obj.docstring.value)
