"""Benchmarks, run with ``python -m benchmarks`` (``make bench``): ratios against a floor measured in the
same run, so machines of any speed compare. They report; they never fail CI."""

import os


def user_env(**extra: str) -> dict[str, str]:
    """The environment a user's command runs in: this one, with bytecode caching on (a developer's
    ``PYTHONDONTWRITEBYTECODE`` would make every timed start-up compile Quanta from source)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}
