"""Run the fake API server standalone: ``python -m tests.fakekube --port 0 --kubeconfig PATH``.

Prints ``FAKEKUBE_URL=<url>`` then ``FAKEKUBE_READY`` on stdout (one line each, flushed) and serves until
SIGINT/SIGTERM. Knobs can be given as flags (``--knob crashloop=statefulset/redis``) and changed later
through ``POST <url>/__fake__/knobs``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tests.fakekube.fake import FakeKube
from tests.fakekube.validation import DEFAULT_MINOR, SERVER_MINORS


def _knob(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--knob expects NAME=VALUE (JSON or text), got {text!r}")
    name, raw = text.split("=", 1)
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip(), value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tests.fakekube",
        description="A wire-level fake Kubernetes API server on 127.0.0.1 for tests, benchmarks, act runs.",
        epilog="Example: python -m tests.fakekube --port 0 --kubeconfig /tmp/kc --seed-nodes 3 "
        "--knob 'never_ready=[\"statefulset/jaeger\"]'",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument("--kubeconfig", type=Path, help="write a kubeconfig for this server here")
    p.add_argument("--context", default="fakekube", help="context/cluster/user name in the kubeconfig")
    p.add_argument("--token", help="bearer token (default: random)")
    p.add_argument(
        "--plain-http",
        action="store_true",
        help="serve HTTP instead of HTTPS (auth is then off: kubectl sends no bearer token over plain HTTP)",
    )
    p.add_argument("--no-auth", action="store_true", help="accept requests without the bearer token")
    p.add_argument("--seed-nodes", type=int, default=1, help="number of Ready nodes to create (default 1)")
    p.add_argument("--no-storage-classes", action="store_true", help="do not seed hcloud-volumes/local-path")
    p.add_argument(
        "--csi-driver",
        action="append",
        default=None,
        help="CSIDriver to seed (repeatable; default csi.hetzner.cloud; 'none' for none)",
    )
    p.add_argument("--state-file", type=Path, help="load state from / save state to this JSON file")
    p.add_argument("--tick", type=float, default=0.05, help="controller loop interval in seconds")
    p.add_argument(
        "--server-version",
        choices=SERVER_MINORS,
        default=DEFAULT_MINOR,
        help="the Kubernetes minor version whose answers (/version, validation error shapes) the fake gives "
        "(default %(default)s; see tests/corpus/kubernetes/)",
    )
    p.add_argument(
        "--knob", type=_knob, action="append", default=[], help="NAME=VALUE, VALUE as JSON or text"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    drivers = args.csi_driver if args.csi_driver is not None else ["csi.hetzner.cloud"]
    drivers = [d for d in drivers if d != "none"]
    knobs = dict(args.knob)
    fake = FakeKube(
        host=args.host,
        port=args.port,
        tls=not args.plain_http,
        token=args.token,
        auth=False if args.no_auth else None,
        nodes=args.seed_nodes,
        storage_classes=[] if args.no_storage_classes else None,
        csi_drivers=drivers,
        state_file=args.state_file,
        tick=args.tick or None,
        server_version=args.server_version,
        **knobs,
    ).start()
    if args.kubeconfig:
        fake.write_kubeconfig(args.kubeconfig, context=args.context)
    stop = threading.Event()

    def handle(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    sys.stdout.write(f"FAKEKUBE_URL={fake.url}\n")
    if args.kubeconfig:
        sys.stdout.write(f"FAKEKUBE_KUBECONFIG={args.kubeconfig}\n")
    sys.stdout.write("FAKEKUBE_READY\n")
    sys.stdout.flush()
    stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
