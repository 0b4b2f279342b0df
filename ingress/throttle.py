"""Sign-in attempts, counted over a sliding window, before the password is checked.

An attempt is counted when it starts (so parallel requests cannot all slip in before the
first failure is recorded) and forgiven when it succeeds. Three limits:

- per account and address (5): guessing one agent's password from one place;
- per address (30): guessing many accounts from one place (an office behind one NAT has
  room for its agents' typos);
- per account from anywhere (50): a distributed guess at one account. Reaching it closes
  the account's sign-in for everyone until the window moves on: the price of stopping it.

In the ingress process's memory: with several ingress replicas each counts its own (put a
shared limiter in front for more). Keys expire with the window and are swept regularly.
"""

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SignInThrottle:
    per_account_address: int = 5
    per_address: int = 30
    per_account: int = 50
    window: float = 15 * 60.0
    clock: Callable[[], float] = time.monotonic
    _attempts: dict[str, deque[float]] = field(default_factory=dict)
    _since_sweep: int = 0

    def _keys(self, account: str, address: str) -> list[tuple[str, int]]:
        return [
            (f"aa:{account}|{address}", self.per_account_address),
            (f"ip:{address}", self.per_address),
            (f"a:{account}", self.per_account),
        ]

    def _recent(self, key: str) -> deque[float]:
        found = self._attempts.get(key)
        if found is None:
            return deque()
        horizon = self.clock() - self.window
        while found and found[0] <= horizon:
            found.popleft()
        if not found:
            del self._attempts[key]
        return found

    def begin(self, account: str, address: str) -> float:
        """Count an attempt and return 0, or the seconds to wait (nothing counted then)."""
        waits = []
        for key, limit in self._keys(account, address):
            recent = self._recent(key)
            if len(recent) >= limit:
                waits.append(recent[0] + self.window - self.clock())
        if waits:
            return max(max(waits), 1.0)
        now = self.clock()
        for key, _ in self._keys(account, address):
            self._attempts.setdefault(key, deque()).append(now)
        self._since_sweep += 1
        if self._since_sweep >= 256:
            self._sweep()
        return 0.0

    def succeeded(self, account: str, address: str) -> None:
        """The attempt was right: it does not count against anyone."""
        for key, _ in self._keys(account, address):
            found = self._attempts.get(key)
            if found:
                found.pop()
                if not found:
                    del self._attempts[key]

    def _sweep(self) -> None:
        self._since_sweep = 0
        for key in list(self._attempts):
            self._recent(key)
