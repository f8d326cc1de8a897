"""The measured figures of the fault tests, printed as they come and summed up at the end of the run."""

from __future__ import annotations

FIGURES: list[str] = []


def figure(row: int, text: str) -> None:
    """Print a measured figure (shown with -s) and keep it for the summary at the end of the run."""
    line = f"row {row}: {text}"
    print(f"\nFIGURE {line}")
    FIGURES.append(line)


def note(text: str) -> None:
    """Something seen outside the fault under test (shown in the summary, once per kind)."""
    line = f"note: {text}"
    print(f"\nNOTE {text}")
    if line not in FIGURES:
        FIGURES.append(line)
