"""The runner's check of signed calls (``protocol.ReplayGuard``), on a clock the test
moves: every refusal reason, and nonces remembered exactly as long as a replay could
otherwise pass, however many calls arrive."""

from sessions_app.runner.protocol import (
    NONCE_HEADER,
    REPLAYED,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WINDOW_SECONDS,
    ReplayGuard,
    signed_headers,
)

PATH = "/v1/ping"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def signed(body: bytes = b"{}") -> dict[str, str]:
    return signed_headers("POST", PATH, body)


def test_a_call_is_accepted_once_and_its_replay_refused():
    guard = ReplayGuard()
    headers = signed()
    assert guard.refusal(headers, "POST", PATH, b"{}") is None
    assert guard.refusal(headers, "POST", PATH, b"{}") == REPLAYED


def test_each_refusal_says_why():
    guard = ReplayGuard()
    headers = signed()
    assert guard.refusal({}, "POST", PATH, b"{}") == "unsigned"
    assert guard.refusal({**headers, NONCE_HEADER: "short"}, "POST", PATH, b"{}") == "unsigned"
    assert guard.refusal(headers, "POST", PATH, b'{"changed":1}') == "bad_signature"
    assert guard.refusal(headers, "POST", "/v1/other", b"{}") == "bad_signature"
    tampered = {**headers, SIGNATURE_HEADER: "0" * 64}
    assert guard.refusal(tampered, "POST", PATH, b"{}") == "bad_signature"
    late = ReplayGuard(clock=Clock(int(headers[TIMESTAMP_HEADER]) + WINDOW_SECONDS + 1))
    assert late.refusal(headers, "POST", PATH, b"{}") == "stale"
    assert guard.refusal(headers, "POST", PATH, b"{}") is None  # none of that used it up


def test_nonces_are_kept_while_a_replay_could_pass_and_forgotten_after():
    headers = signed()
    sent_at = int(headers[TIMESTAMP_HEADER])
    clock = Clock(sent_at - WINDOW_SECONDS)  # the runner's clock behind by the whole window
    guard = ReplayGuard(clock=clock)
    assert guard.refusal(headers, "POST", PATH, b"{}") is None

    # The call's timestamp stays acceptable until the runner's clock passes sent_at + 30 s,
    # i.e. for two windows after it arrived: the nonce is remembered all that time.
    for _ in range(5000):  # other calls meanwhile
        clock.now += 2 * WINDOW_SECONDS / 5000 - 1e-6
        guard.refusal(signed(), "POST", PATH, b"{}")
    assert clock.now <= sent_at + WINDOW_SECONDS
    assert guard.refusal(headers, "POST", PATH, b"{}") == REPLAYED

    clock.now = sent_at + WINDOW_SECONDS + 1
    assert guard.refusal(headers, "POST", PATH, b"{}") == "stale"


def test_only_the_expired_are_forgotten_and_memory_follows_the_rate():
    clock = Clock(0.0)
    guard = ReplayGuard(clock=clock)

    def call_at(t: float) -> None:
        clock.now = t
        headers = signed_headers("POST", PATH, b"{}", at=t)
        assert guard.refusal(headers, "POST", PATH, b"{}") is None

    start = 1_000_000.0
    for i in range(3000):  # 3,000 calls over 30 s
        call_at(start + i / 100)
    assert guard.remembered() == 3000
    call_at(start + 2 * WINDOW_SECONDS + 10)  # calls of the first 10 s (0.00 to 10.00) expire
    assert guard.remembered() == 3000 - 1001 + 1
    call_at(start + 10 * WINDOW_SECONDS)
    assert guard.remembered() == 1
