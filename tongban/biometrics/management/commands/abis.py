"""`tongban abis serve [--bind 127.0.0.1:8790] [--threads N] [--prefixes 3601,3602]`: the
built-in face engine as a service (docs/operations.md); `tongban abis check`: whether every node
of TONGBAN_ABIS_NODES answers (JSON out, exit 1 when one does not)."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.biometrics.abis import BuiltinABIS
from tongban.biometrics.http import HttpClient
from tongban.biometrics.interfaces import BiometricError
from tongban.biometrics.shards import Shard, parse_nodes, parse_prefixes

LOOPBACK = ("127.", "localhost:", "[::1]:", "unix:")


class Command(BaseCommand):
    # The engine serves no Django URL, view or template: the system checks (3 s of imports) have
    # nothing to say about it.
    requires_system_checks: list[str] = []
    help = (
        "The face engine service: `serve` holds the 1:N galleries (those of --prefixes, or all) "
        "in one process and answers the protocol of docs/biometrics-http.md; web processes reach "
        "it with TONGBAN_BIOMETRICS_ENGINE=service. `check` asks every configured node."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        config: dict[str, Any] = settings.BIOMETRICS
        serve = sub.add_parser("serve", help="serve the built-in engine over HTTP (gunicorn)")
        serve.add_argument(
            "--bind", default=config["SERVE_BIND"], help="host:port (default %(default)s: loopback only)"
        )
        serve.add_argument(
            "--threads", type=int, default=config["SERVE_THREADS"], help="request threads (%(default)s)"
        )
        serve.add_argument(
            "--prefixes",
            default=config["SERVE_PREFIXES"],
            help="region-code prefixes this node serves, e.g. 3601,3602 (* for the regions no other "
            "node's prefix claims; default: every region)",
        )
        sub.add_parser("check", help="ask every node of TONGBAN_ABIS_NODES whether it answers")

    def handle(self, *args: Any, **options: Any) -> None:
        config: dict[str, Any] = settings.BIOMETRICS
        try:
            nodes = parse_nodes(config["NODES"]) if config["NODES"] else ()
            if options["action"] == "check":
                self._check(config)
                return
            shard = (
                Shard.of(parse_prefixes(options["prefixes"]), nodes)
                if options["prefixes"]
                else Shard.everything()
            )
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if options["threads"] < 1:
            raise CommandError("--threads must be at least 1")
        bind = options["bind"]
        if not config["TOKEN"] and not bind.startswith(LOOPBACK):
            self.stderr.write(
                f"warning: serving on {bind} without TONGBAN_ABIS_TOKEN: anyone who reaches the port "
                "can search the galleries"
            )
        from tongban.biometrics.service import serve

        self.stderr.write(f"tongban abis serve on {bind}: {json.dumps(shard.describe())}")
        serve(
            BuiltinABIS(shard=shard),
            bind=bind,
            threads=options["threads"],
            token=config["TOKEN"],
            refresh_seconds=float(config["REFRESH_SECONDS"]),
        )

    def _check(self, config: dict[str, Any]) -> None:
        report: dict[str, Any] = {}
        failed = False
        for node in parse_nodes(config["NODES"]):
            try:
                answer = HttpClient(node.url).get("/health", {})
                report[node.prefix or "*"] = {"url": node.url, "ok": answer.get("ok") is True} | {
                    k: answer[k] for k in ("shard", "galleries") if k in answer
                }
            except BiometricError as exc:
                report[node.prefix or "*"] = {"url": node.url, "ok": False, "error": exc.code}
            failed = failed or not report[node.prefix or "*"]["ok"]
        self.stdout.write(json.dumps({"nodes": report}, ensure_ascii=False))
        if failed:
            sys.exit(1)
