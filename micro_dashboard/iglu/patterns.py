"""Regular expressions from schemas (`pattern`, `patternProperties`) and our formats, run by RE2.

Python's `re` backtracks: `^([a-z]+)+$` against thirty letters and a `!` takes exponential time, holding the
interpreter (and so every thread of the dashboard) all the while. RE2 matches in time linear in the text, whatever the
pattern. What RE2 cannot express (backreferences, lookahead and lookbehind, repetition counts above 1000) is the
fallback's case: no other engine runs it, and the entity is "unverified" with the reason, since a verdict without the
pattern could be false and a backtracking engine could freeze the process."""

from __future__ import annotations

import functools
import string
from typing import Any

import re2

from micro_dashboard.iglu.limits import REMEMBERED_PATTERNS, Unverifiable

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a pattern RE2 refuses is explained in the verdict, not printed on stderr
_SHOWN = 60  # characters of a pattern quoted in a sentence


def search(pattern: str, text: str) -> bool:
    """Return whether `pattern` matches somewhere in `text` (as ECMA 262 does: unanchored unless it says ^ or $);
    raise Unverifiable when RE2 cannot run the pattern or read the text."""
    compiled = _compiled(pattern)
    if isinstance(compiled, str):
        raise Unverifiable(compiled)
    try:
        return compiled.search(text) is not None
    except UnicodeEncodeError:  # RE2 reads UTF-8, and a lone surrogate (JSON allows "\ud800") has no UTF-8 form
        raise Unverifiable(f"the text {_quoted(text)} holds a lone UTF-16 surrogate, which the regular expression "
                           "engine cannot read") from None


def unrunnable(pattern: str) -> str | None:
    """Return why RE2 cannot run `pattern` (a sentence), or None when it can."""
    compiled = _compiled(pattern)
    return compiled if isinstance(compiled, str) else None


@functools.lru_cache(maxsize=REMEMBERED_PATTERNS)
def _compiled(pattern: str) -> Any:
    """Return the compiled pattern, or why RE2 cannot compile it."""
    try:
        return re2.compile(re2_syntax(pattern), _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        return (f"the pattern {_quoted(pattern)} uses {_feature(reason)}, which the linear-time regular "
                "expression engine (RE2) cannot run, and micro-dashboard runs no backtracking engine, which one "
                "hostile pattern could stall")


def re2_syntax(pattern: str) -> str:
    """Rewrite the ECMA 262 escapes RE2 spells differently: `\\uXXXX` (a surrogate pair as one character)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            code = _hex4(pattern, i)
            if code is not None:
                low = _hex4(pattern, i + 6)
                if 0xD800 <= code < 0xDC00 and low is not None and 0xDC00 <= low < 0xE000:
                    out.append(f"\\x{{{0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00):X}}}")
                    i += 12
                    continue
                out.append(f"\\x{{{code:04X}}}")
                i += 6
                continue
            out.append(pattern[i:i + 2])  # any other escape, kept whole so that `\\u` stays a backslash and a u
            i += 2
            continue
        out.append(pattern[i])
        i += 1
    return "".join(out)


def _hex4(pattern: str, at: int) -> int | None:
    """Return the code of a `\\uXXXX` escape starting at `at`, or None."""
    digits = pattern[at + 2:at + 6]
    if pattern[at:at + 2] == "\\u" and len(digits) == 4 and all(d in string.hexdigits for d in digits):
        return int(digits, 16)
    return None


def _feature(error: str) -> str:
    """Name what RE2's error message says it cannot do."""
    if any(f"({mark}" in error for mark in ("?=", "?!", "?<=", "?<!")):
        return "a lookahead or lookbehind"
    if "invalid escape sequence: \\" in error and error.rstrip()[-1:].isdigit():
        return "a backreference"
    if "invalid repetition size" in error:
        return "a repetition count above 1000"
    if "too large" in error or "too big" in error:
        return "more states than RE2's memory budget for one expression"
    return f"something RE2 rejects ({error})"


def _quoted(text: str) -> str:
    """Quote a pattern or text briefly for a sentence."""
    return repr(text) if len(text) <= _SHOWN else repr(text[:_SHOWN]) + "…"
