"""The chart engine in a process of its own: Vega-Lite specifications in, SVG strings out.

Run as ``python -I _chart_engine.py SEARCH_PATH`` by :func:`planner.reports.charts.warm_up`
(``SEARCH_PATH``: the folder that holds the ``vl_convert`` package). It starts vl-convert's
JavaScript runtime at once and draws one small chart (which loads the fonts), so that this
start-up, which holds the interpreter's lock for its whole second, runs beside the report's
building instead of blocking it. Then it reads one JSON array of specifications from stdin,
writes the JSON array of their SVG strings to stdout and exits. Any failure exits non-zero;
the caller then draws the charts itself, which reports the error.

This file imports nothing of ``planner``: the interpreter runs isolated (``-I``).
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
    specs = json.loads(sys.stdin.buffer.read() or b"[]")
    svgs = [vl_convert.vegalite_to_svg(spec) for spec in specs]
    sys.stdout.buffer.write(json.dumps(svgs).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
