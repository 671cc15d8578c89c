"""Per-principal rate limits, separate for live actions and reads."""

import pytest

from gateway.models import RateCounter
from gateway.throttling import parse_rate, prune_expired_counters
from tests.helpers import assert_error


def test_parse_rate():
    assert parse_rate("60/minute") == (60, 60)
    assert parse_rate("5/s") == (5, 1)
    assert parse_rate("off") is None
    with pytest.raises(ValueError, match="60/minute"):
        parse_rate("lots")


@pytest.mark.django_db
class TestLimits:
    def test_reads_over_the_limit_get_429_with_retry_after(self, settings, api, session):
        settings.GATEWAY_RATE_LIMITS = {"live": "100/minute", "read": "3/hour"}
        url = f"/api/v1/sessions/{session.id}/groups"
        for _ in range(3):
            assert api.get(url).status_code == 200
        response = api.get(url)
        error = assert_error(response, 429, "rate_limited")
        assert 1 <= int(response["Retry-After"]) <= 3601
        assert error["details"]["retryAfter"] == int(response["Retry-After"])

    def test_live_actions_have_their_own_budget(self, settings, api, session):
        settings.GATEWAY_RATE_LIMITS = {"live": "2/hour", "read": "100/minute"}
        url = f"/api/v1/sessions/{session.id}/groups"
        body = {"name": "T", "participants": ["15551234567@s.whatsapp.net"]}
        assert api.post(url, body, format="json").status_code == 201
        assert api.post(url, body, format="json").status_code == 201
        assert_error(api.post(url, body, format="json"), 429, "rate_limited")
        assert api.get(url).status_code == 200  # reads are still fine

    def test_each_principal_has_its_own_budget(self, settings, org, client_for, session):
        settings.GATEWAY_RATE_LIMITS = {"live": "100/minute", "read": "1/hour"}
        url = f"/api/v1/sessions/{session.id}/groups"
        first, second = client_for(org, "read"), client_for(org, "read")
        assert first.get(url).status_code == 200
        assert_error(first.get(url), 429, "rate_limited")
        assert second.get(url).status_code == 200

    def test_off_means_no_limit(self, settings, api, session):
        settings.GATEWAY_RATE_LIMITS = {"live": "off", "read": "off"}
        for _ in range(5):
            assert api.get(f"/api/v1/sessions/{session.id}/groups").status_code == 200
        assert not RateCounter.objects.exists()

    def test_past_windows_are_pruned(self, settings, api, session):
        settings.GATEWAY_RATE_LIMITS = {"live": "10/minute", "read": "10/second"}
        api.get(f"/api/v1/sessions/{session.id}/groups")
        assert RateCounter.objects.count() == 1
        from django.utils import timezone

        RateCounter.objects.update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
        assert prune_expired_counters() == 1
        assert not RateCounter.objects.exists()


@pytest.mark.django_db
def test_redis_backed_limits(settings, api, session):
    """With REDIS_URL the counters live in Redis (the machine's server on loopback)."""
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
        }
    }
    settings.GATEWAY_RATE_LIMITS = {"live": "100/minute", "read": "2/hour"}
    url = f"/api/v1/sessions/{session.id}/groups"
    assert api.get(url).status_code == 200
    assert api.get(url).status_code == 200
    assert_error(api.get(url), 429, "rate_limited")
    assert not RateCounter.objects.exists()
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
