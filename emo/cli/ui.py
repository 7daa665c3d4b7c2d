"""`emo ui`: MLflow's UI on the pipeline's runs, at the address that opens them with the
headline columns (emo.tracking.ui); the UI's processes live as long as this command."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "ui",
        help="MLflow's UI on the pipeline's runs, at the address that opens on them with the headline columns",
        description="Start `mlflow ui` on 127.0.0.1 on the tracking store (sqlite:///mlflow.db, or "
                    "MLFLOW_TRACKING_URI) and print the address of the experiment's runs in model-training mode "
                    "with the report's headline numbers as columns; with a tracking server, print its address.",
    )
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default: 5000)")
    p.add_argument("--open", action="store_true", help="also open the address in a browser")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import webbrowser

    from emo.tracking.ui import runs_page, serve_until_stopped

    with runs_page(args.port) as page:
        print(page.url, flush=True)
        if not page.view:
            print("the headline columns appear once the report stage has run", file=sys.stderr)
        if args.open:
            webbrowser.open(page.url)
        if page.served:
            print("MLflow's UI on 127.0.0.1 only; Ctrl-C stops it", file=sys.stderr, flush=True)
            serve_until_stopped()
