"""The bounded map with deadlines behind authentication's memories, on a test clock."""

from auth_app.expiring_memory import ExpiringMemory


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_returned_until_its_deadline_and_forgotten_at_it() -> None:
    clock = Clock()
    memory: ExpiringMemory[str, int] = ExpiringMemory(limit=10, clock=clock)
    memory.put("a", 1, until=105.0)
    clock.now = 104.9
    assert memory.get("a") == 1
    clock.now = 105.0
    assert memory.get("a") is None
    assert len(memory) == 0


def test_past_the_limit_the_least_recently_used_go_first() -> None:
    memory: ExpiringMemory[str, int] = ExpiringMemory(limit=2, clock=Clock())
    memory.put("a", 1, until=200.0)
    memory.put("b", 2, until=200.0)
    assert memory.get("a") == 1  # "b" is now the least recently used
    memory.put("c", 3, until=200.0)
    assert (memory.get("a"), memory.get("b"), memory.get("c")) == (1, None, 3)


def test_discard_and_forget_all() -> None:
    memory: ExpiringMemory[str, int] = ExpiringMemory(limit=10, clock=Clock())
    for key in "abc":
        memory.put(key, 0, until=200.0)
    memory.discard("a")
    memory.discard("missing")
    assert memory.get("a") is None and memory.get("b") == 0
    memory.forget_all()
    assert len(memory) == 0 and memory.get("c") is None
