"""How time passes in the local data plane: one AWS minute in one local second.

Health-check intervals, deregistration delays, stop timeouts, grace periods, metric periods and
cooldowns are all divided by SPEEDUP, so a lab sees in seconds what takes minutes on AWS. What a
request waits for (an idle timeout, a health check's timeout) is not sped up: a slow answer is
slow on any clock. Notebooks state this rule in their "local vs real AWS" notes.
"""

from labkit.config import LOCAL_CLOCK_SPEEDUP as SPEEDUP


def local_seconds(aws_seconds: float, at_least: float = 0.0) -> float:
    return max(at_least, float(aws_seconds) / SPEEDUP)
