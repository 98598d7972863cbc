"""`tongban exchange ...`: 跨省通办 from the command line (docs/exchange.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.errors import ServiceError
from tongban.core.keys import keys_passphrase
from tongban.exchange import services
from tongban.exchange.models import OutboundMessage, Peer


class Command(BaseCommand):
    help = (
        "跨省通办: `keygen [--force]`, `key`, `peer add --prefix 44 --name 广东省 --endpoint URL "
        "--public-key HEX|FILE`, `peer list`, `peer suspend|resume PREFIX`, `ping PREFIX`, `deliver`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        keygen = sub.add_parser(
            "keygen", help="make the province's exchange key (made on first use otherwise)"
        )
        keygen.add_argument(
            "--force", action="store_true", help="replace an existing key (peers must re-register it)"
        )
        sub.add_parser(
            "key", help="print the exchange public key (hex, PEM) and its fingerprint for the peers"
        )
        peer = sub.add_parser("peer", help="the directory (交换目录)")
        peers = peer.add_subparsers(dest="peer_action", required=True)
        add = peers.add_parser("add", help="register another province's system")
        add.add_argument("--prefix", required=True, help="its two-digit region code, e.g. 44")
        add.add_argument("--name", required=True, help="e.g. 广东省")
        add.add_argument("--endpoint", required=True, help="its base URL, e.g. https://tongban.gd.example")
        add.add_argument(
            "--public-key", required=True, help="its public key: hex, or a file holding hex or PEM"
        )
        peers.add_parser("list", help="the directory")
        for action in ("suspend", "resume"):
            one = peers.add_parser(action, help=f"{action} a peer")
            one.add_argument("prefix")
        ping = sub.add_parser("ping", help="连通检查: send exchange.ping now and wait for the signed answer")
        ping.add_argument("prefix")
        sub.add_parser("deliver", help="send every message that is due now")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except ServiceError as error:
            raise CommandError(f"{error.code}: {error.message} {error.fields or ''}".strip()) from error

    def _print(self, data: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=1))

    def _peer(self, prefix: str) -> Peer:
        peer = Peer.objects.filter(prefix=prefix).first()
        if peer is None:
            raise CommandError(f"交换目录中没有 {prefix}。")
        return peer

    def _handle(self, options: dict[str, Any]) -> None:
        action = options["action"]
        if action == "keygen":
            pair = services.exchange_key_generate(force=options["force"])
            encrypted = bool(keys_passphrase())
            if not encrypted:
                self.stderr.write("警告：交换私钥未加密保存（未配置 TONGBAN_KEYS_PASSPHRASE）。")
            path = str(services.exchange_key_path())
            self._print({"path": path, "fingerprint": pair.fingerprint, "encrypted": encrypted})
        elif action == "key":
            facts = services.key_facts()
            self._print(
                {
                    "province": facts.province,
                    "name": facts.name,
                    "public_key": facts.public_key,
                    "fingerprint": facts.fingerprint,
                }
            )
            self.stdout.write(facts.pem, ending="")
        elif action == "peer":
            self._peer_action(options)
        elif action == "ping":
            message = services.ping_now(actor=None, peer=self._peer(options["prefix"]))
            result = {
                "id": str(message.message_id),
                "status": message.status,
                "status_label": message.get_status_display(),
                "code": message.last_code,
                "error": message.last_error,
                "answer": message.answer,
            }
            self._print(result)
            if message.status != OutboundMessage.Status.DELIVERED:
                raise CommandError(f"连通检查未成功：{message.get_status_display()} {message.last_error}")
        elif action == "deliver":
            self._print({"tried": services.messages_deliver_due()})

    def _peer_action(self, options: dict[str, Any]) -> None:
        action = options["peer_action"]
        if action == "add":
            key = options["public_key"]
            path = Path(key)
            if len(key) < 300 and path.is_file():
                key = path.read_text()
            peer = services.peer_add(
                actor=None,
                prefix=options["prefix"],
                name=options["name"],
                endpoint=options["endpoint"],
                public_key=key,
            )
            self._print({"prefix": peer.prefix, "name": peer.name, "fingerprint": peer.fingerprint})
        elif action == "list":
            for peer in Peer.objects.all():
                state = "启用" if peer.active else "停用"
                self.stdout.write(f"{peer.prefix}\t{peer.name}\t{peer.endpoint}\t{peer.fingerprint}\t{state}")
        else:
            peer = services.peer_update(
                actor=None, peer=self._peer(options["prefix"]), active=action == "resume"
            )
            self._print({"prefix": peer.prefix, "active": peer.active})
