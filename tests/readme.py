"""The code samples of README.md, so that tests run them as a reader would copy them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
# The port the README's samples name, which the tests replace with the port of the dashboard they started.
README_PORT = "9091"


@dataclass(frozen=True)
class CodeSample:
    """One fenced code block: its language, its code, and the README section it is in."""

    language: str
    code: str
    section: str


def code_samples(text: str | None = None) -> list[CodeSample]:
    """Return every fenced code block of the README that has a language (the unlabeled ones are diagrams)."""
    text = README.read_text() if text is None else text
    samples, section = [], ""
    for match in re.finditer(r"^(## [^\n]+)$|^```(\w*)\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        if match.group(1):
            section = match.group(1)[3:].strip()
        elif match.group(2):
            samples.append(CodeSample(match.group(2), match.group(3), section))
    return samples


def sample(language: str, section: str, containing: str = "") -> CodeSample:
    """Return the one sample of that language in that section (with that text, when several are)."""
    [found] = [s for s in code_samples() if s.language == language and s.section == section and containing in s.code]
    return found
