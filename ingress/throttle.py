"""Failed sign-ins, counted per account and per client address over a sliding window.

In the ingress process's memory: with several ingress replicas each counts its own (the
limit per replica still stops a guessing run; put a shared limiter in front for more).
"""

import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SignInThrottle:
    per_account: int = 5
    per_address: int = 30
    window: float = 15 * 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def _recent(self, key: str) -> deque[float]:
        found = self._failures[key]
        horizon = self.clock() - self.window
        while found and found[0] <= horizon:
            found.popleft()
        if not found:
            del self._failures[key]
            return deque()
        return found

    def wait(self, account: str, address: str) -> float:
        """Seconds until another try is allowed (0: now)."""
        waits = []
        for key, limit in ((f"a:{account}", self.per_account), (f"ip:{address}", self.per_address)):
            recent = self._recent(key)
            if len(recent) >= limit:
                waits.append(recent[0] + self.window - self.clock())
        return max(waits, default=0.0)

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        self._failures[f"a:{account}"].append(now)
        self._failures[f"ip:{address}"].append(now)

    def succeeded(self, account: str) -> None:
        self._failures.pop(f"a:{account}", None)
