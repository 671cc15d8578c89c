"""The runner's file descriptors: every connection, every worker's pipes and every
database connection is one, and running out of them must cost a connection, never the
runner (``listener``)."""

import logging
import resource

logger = logging.getLogger(__name__)

# What a connection cap leaves for everything else: half the limit.
_CONNECTIONS_SHARE = 2
_MIN_CONNECTIONS = 64
_MAX_CONNECTIONS = 16_384


def raise_to_hard_limit() -> int:
    """Raises this process's open-files limit to its hard limit (which only an operator
    can raise: ``LimitNOFILE=`` in systemd, ``ulimit -Hn``); returns the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            logger.warning("runner: cannot raise the open-files limit to %d: %s", hard, exc)
        else:
            soft = hard
    return soft


def connection_cap(limit: int | None = None) -> int:
    """The most connections the runner's HTTP server holds at once: half the open-files
    limit (the other half is for workers' pipes, database connections and logs)."""
    if limit is None:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if limit == resource.RLIM_INFINITY:
        return _MAX_CONNECTIONS
    return max(_MIN_CONNECTIONS, min(limit // _CONNECTIONS_SHARE, _MAX_CONNECTIONS))
