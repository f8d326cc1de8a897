"""Redis key names. Every key of a sale carries the hash tag ``{<sale_id>}``, so all of a sale's
keys live in one Redis Cluster slot and a multi-key Lua script over them stays legal."""
from __future__ import annotations

from dataclasses import dataclass

GROUP = "persisters"  # the stream's consumer group


@dataclass(frozen=True)
class SaleKeys:
    sale_id: int

    def _k(self, suffix: str) -> str:
        return f"fs:{{{self.sale_id}}}:{suffix}"

    @property
    def meta(self) -> str:
        return self._k("meta")

    @property
    def stock(self) -> str:
        return self._k("stock")

    @property
    def bought(self) -> str:
        return self._k("bought")

    @property
    def released(self) -> str:
        return self._k("released")

    @property
    def stream(self) -> str:
        return self._k("reservations")

    @property
    def kick(self) -> str:
        return self._k("kick")

    @property
    def stats(self) -> str:
        return self._k("stats")

    @property
    def dead(self) -> str:
        return self._k("dead")

    def token(self, user_id: int) -> str:
        return self._k(f"tok:{user_id}")

    def idem(self, user_id: int, key: str) -> str:
        return self._k(f"idem:{user_id}:{key}")

    def res(self, reservation_id: str) -> str:
        return self._k(f"res:{reservation_id}")

    def rate_user(self, user_id: int) -> str:
        return self._k(f"rl:u:{user_id}")

    def rate_ip(self, ip: str) -> str:
        return self._k(f"rl:ip:{ip}")


def sale_keys(sale_id: int) -> SaleKeys:
    return SaleKeys(int(sale_id))
