"""Shipped text cites public sources, never this project's history.

Data files, docstrings, comments and messages under ``data/`` and ``planner/`` must not say
"issue 12", "the issue's example" or "issue 11": a reader of the product cannot look those
up. Each source names the public document instead.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: "issue 12", "issue #3", "issue 1x", "issues 11 and 12", "the issue's", "finding 23".
PATTERN = re.compile(
    r"\bissues?\s*#?\s*\d|\bissue\s+1x\b|\bthe issue'?s\b|\bfinding\s+\d", re.IGNORECASE
)
SUFFIXES = {".py", ".toml", ".csv", ".md", ".txt", ".json", ".yaml", ".yml", ".html", ".css"}


def _hits() -> list[str]:
    hits = []
    for top in ("data", "planner"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix not in SUFFIXES or "__pycache__" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                if PATTERN.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    return hits


def test_the_pattern_catches_project_history_and_nothing_else():
    for text in ("seed estimate (issue 12)", "The issue's example", "issue 1x", "finding 23"):
        assert PATTERN.search(text), text
    for text in ("issued in 2024", "tissue 3", "no issues here"):
        assert not PATTERN.search(text), text


def test_no_shipped_file_cites_the_projects_history():
    hits = _hits()
    assert not hits, "project history in shipped text:\n" + "\n".join(hits)
