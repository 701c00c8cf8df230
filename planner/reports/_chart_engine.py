"""The chart engine in a process of its own: Vega-Lite specifications in, SVG strings out.

Run as ``python -I -S _chart_engine.py SEARCH_PATH`` by :func:`planner.reports.charts.warm_up`
(``SEARCH_PATH``: the folder that holds the ``vl_convert`` package). It starts vl-convert's
JavaScript runtime at once and draws one small chart (which loads the fonts), so that this
start-up, which holds the interpreter's lock for its whole half second, runs beside the
report's building instead of blocking it. Then, for each line on stdin (a JSON array of
specifications), it writes one line on stdout: the JSON array of their SVG strings, or
``null`` when one of them cannot be drawn (the caller then draws them itself, which reports
the error). It ends at the end of stdin; a failure to start exits non-zero.

This file imports nothing of ``planner``: the interpreter runs isolated, without site
packages (``-I -S``).
"""

import json
import sys

#: The smallest chart with text (axis labels): drawing it starts the engine and loads fonts.
WARM_SPEC = {
    "data": {"values": [{"a": 1}]},
    "mark": "point",
    "encoding": {"x": {"field": "a", "type": "quantitative"}},
}


def main() -> int:
    sys.path.insert(0, sys.argv[1])
    import vl_convert

    vl_convert.vegalite_to_svg(WARM_SPEC)
    for line in sys.stdin.buffer:
        try:
            answer = json.dumps([vl_convert.vegalite_to_svg(spec) for spec in json.loads(line)])
        except Exception:  # the caller draws the batch itself and says what is wrong
            answer = "null"
        sys.stdout.buffer.write(answer.encode("utf-8") + b"\n")
        sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
