"""``robnas space``: facts about the NB201 search space, and an export of every cell."""

from __future__ import annotations

import argparse

from robnas.cli.common import HelpFormatter, add_data_options, print_json
from robnas.errors import RobnasError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "space",
        help="print the search space's facts or export every cell with its class",
        description=(
            "Without --format: print the NB201 space's facts (ops, edges, cells, isomorphism\n"
            "classes). With --format or -o: export every cell, using the release's meta.json for\n"
            "NB201 indices; columns nb201_index, arch, representative (the release's class\n"
            "representative), robnas_representative (the one robnas' own isomorphism rule gives),\n"
            "is_representative (whether the cell is the release's representative)."
        ),
        epilog="example:\n  robnas space --format parquet -o space.parquet",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--format", choices=("csv", "parquet"),
                        help="export every cell (default with -o: from its suffix, .csv or .parquet)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="export every cell to FILE (without -o: csv on stdout)")
    parser.add_argument("--json", action="store_true", help="print the space's facts as one JSON object")
    add_data_options(parser, dataset=False, strict=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from robnas.arch import EDGES, NUM_CELLS, OPS
    from robnas.isomorphism import class_count

    if args.json and (args.format is not None or args.output is not None):
        raise RobnasError("--json prints the space's facts; it does not go with an export (--format, -o)")
    if args.json:
        print_json({"search_space": "NAS-Bench-201 cell", "nodes": 4, "operations": list(OPS),
                    "edges": [list(edge) for edge in EDGES], "cells": NUM_CELLS,
                    "classes": class_count(), "neighbours_per_cell": len(EDGES) * (len(OPS) - 1)})
        return 0
    if args.format is None and args.output is None:
        print("search space     NAS-Bench-201 cell (4 nodes, 6 edges)")
        print(f"operations       {', '.join(OPS)}")
        print(f"edges            {' '.join(f'({i},{j})' for i, j in EDGES)}  (NB201 string order)")
        print(f"cells            {NUM_CELLS}")
        print(f"classes          {class_count()} (NB201's isomorphism rule)")
        print("neighbours       24 per cell (one edge changed)")
        return 0
    from robnas.cli.outputs import table_format, writable_file, write_frame

    output = writable_file(args.output, "-o")
    fmt = table_format(args.format, output)
    write_frame(space_dataframe(args.data).reset_index(), fmt, output)
    return 0


def space_dataframe(data: str | None):
    """Every cell (indexed by its NB201 index, ``nb201_index``): arch string, release
    representative, robnas' own representative, whether it is a representative."""
    import numpy as np
    import pandas as pd

    from robnas.arch import Arch
    from robnas.benchmark.cache import ArrayCache
    from robnas.benchmark.location import META_FILE, default_cache_dir, resolve_data_root
    from robnas.benchmark.meta import SpaceMeta
    from robnas.benchmark.tabular_oracle import INDEX_NAME
    from robnas.isomorphism import class_code_array

    meta = SpaceMeta.load(resolve_data_root(data) / META_FILE, ArrayCache(default_cache_dir()))
    codes = meta.code_of_index
    class_of_index = class_code_array()[codes]
    # robnas' own classes, each named by its smallest NB201 index (the release's convention)
    smallest_index = np.full(len(codes), len(codes), dtype=np.int64)
    np.minimum.at(smallest_index, class_of_index, np.arange(len(codes)))
    return pd.DataFrame(
        {
            "arch": [Arch.from_code(int(c)).to_string() for c in codes],
            "representative": meta.representative.copy(),
            "robnas_representative": smallest_index[class_of_index],
            "is_representative": meta.representative == np.arange(len(codes)),
        },
        index=pd.RangeIndex(len(codes), name=INDEX_NAME),
    )
