"""Page routes: the live event inspector at / and the internal-events demo page."""

from __future__ import annotations

from flask import Blueprint, render_template

from . import __version__

bp = Blueprint("ui", __name__)


@bp.get("/")
def index() -> str:
    """Render the live event inspector (a client of /ws and the JSON API)."""
    return render_template("index.html", version=__version__)


@bp.get("/demo")
def demo() -> str:
    """Render the page whose buttons send GitLab-style internal events."""
    return render_template("demo.html")
