"""Which engine node holds which faces: galleries sharded by region-code prefix.

Every stored template carries the region code of the household it belongs to
(`BiometricTemplate.region`, see `regions.py`). settings.BIOMETRICS["NODES"]
(`TONGBAN_ABIS_NODES`) maps region-code prefixes to engine nodes, e.g.
``3601=http://h1:8790,3602=http://h2:8790,36=http://h3:8790``: the longest prefix that starts a
template's region names its node, and an entry without a prefix (or ``*=URL``) takes the regions
no prefix claims. Each node (`tongban abis serve --prefixes 3601,3602`) indexes the regions whose
longest matching prefix is one of its own, so a node serving ``36`` leaves 3601… and 3602… to the
nodes configured for them.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from tongban.core.regions import longest_prefix

PREFIX = re.compile(r"[0-9]{1,6}")
DEFAULT_NODE = "http://127.0.0.1:8790"


@dataclass(frozen=True)
class Node:
    prefix: str  # "" for the node taking the regions no other prefix claims
    url: str


def parse_prefixes(text: str) -> tuple[str, ...]:
    """`3601,3602` (or `*` for every region no longer prefix claims) as sorted prefixes."""
    prefixes: set[str] = set()
    for raw in re.split(r"[,\s]+", text.strip()):
        if not raw:
            continue
        if raw == "*":
            prefixes.add("")
        elif PREFIX.fullmatch(raw):
            prefixes.add(raw)
        else:
            raise ImproperlyConfigured(f"region prefix {raw!r}: 1 to 6 digits, or * for the rest")
    if not prefixes:
        raise ImproperlyConfigured("no region prefix given")
    return tuple(sorted(prefixes))


def parse_nodes(text: str) -> tuple[Node, ...]:
    """TONGBAN_ABIS_NODES: comma-separated `PREFIX=URL` entries, and at most one bare `URL` (or
    `*=URL`) for the regions no prefix claims. Empty: one node at DEFAULT_NODE for everything."""
    nodes: dict[str, Node] = {}
    for raw in re.split(r"[,\s]+", text.strip()):
        if not raw:
            continue
        prefix, sep, url = raw.partition("=")
        if not sep:
            prefix, url = "", raw
        elif prefix == "*":
            prefix = ""
        elif not PREFIX.fullmatch(prefix):
            raise ImproperlyConfigured(f"TONGBAN_ABIS_NODES: bad region prefix in {raw!r}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImproperlyConfigured(f"TONGBAN_ABIS_NODES: bad node URL in {raw!r}")
        if prefix in nodes:
            raise ImproperlyConfigured(f"TONGBAN_ABIS_NODES: prefix {prefix or '*'!r} given twice")
        nodes[prefix] = Node(prefix, url.rstrip("/"))
    if not nodes:
        return (Node("", DEFAULT_NODE),)
    return tuple(sorted(nodes.values(), key=lambda n: (-len(n.prefix), n.prefix)))


def route(nodes: tuple[Node, ...], region: str) -> Node | None:
    """The node of the longest prefix starting `region` (None: no node takes it)."""
    return longest_prefix(region, {node.prefix: node for node in nodes})


@dataclass(frozen=True)
class Shard:
    """The regions one engine process indexes: those whose longest matching prefix, among its
    own and the other nodes' (`others`), is one of its own. `Shard.everything()` is the
    unsharded engine (the in-process one, or a single node)."""

    prefixes: tuple[str, ...] = ("",)
    others: tuple[str, ...] = ()

    @classmethod
    def everything(cls) -> Shard:
        return cls()

    @classmethod
    def of(cls, prefixes: tuple[str, ...], nodes: tuple[Node, ...] = ()) -> Shard:
        own = tuple(sorted(set(prefixes)))
        others = tuple(sorted({n.prefix for n in nodes} - set(own)))
        return cls(own, others)

    def _carved(self, prefix: str) -> list[str]:
        """Longer prefixes of other nodes inside `prefix`: regions taken away from it."""
        return [o for o in self.others if len(o) > len(prefix) and o.startswith(prefix)]

    @property
    def whole(self) -> bool:
        return "" in self.prefixes and not self.others

    def owns(self, region: str) -> bool:
        mine = max((p for p in self.prefixes if region.startswith(p)), key=len, default=None)
        if mine is None:
            return False
        return not any(region.startswith(o) for o in self._carved(mine))

    def q(self, field: str = "region") -> Q:
        """The rows of this shard, as a filter on the region column."""
        terms: list[Q] = []
        for prefix in self.prefixes:
            term = Q(**{f"{field}__startswith": prefix}) if prefix else Q()
            for carved in self._carved(prefix):
                term &= ~Q(**{f"{field}__startswith": carved})
            if not term:  # every region
                return Q()
            terms.append(term)
        return functools.reduce(operator.or_, terms)

    @property
    def excluded(self) -> list[str]:
        return sorted({c for p in self.prefixes for c in self._carved(p)})

    @property
    def key(self) -> str:
        """A file-name-safe name of the shard (saved indexes of another shard are not reused)."""
        return "+".join(p or "all" for p in self.prefixes) + "".join(f"-{c}" for c in self.excluded)

    def describe(self) -> dict[str, list[str]]:
        return {"prefixes": [p or "*" for p in self.prefixes], "excluded": self.excluded}
