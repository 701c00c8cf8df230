"""``python -m planner``: the ``planner`` command (as the console script)."""

from planner.cli import run

if __name__ == "__main__":
    run()
