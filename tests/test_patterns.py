"""Event patterns match as AWS documents them for EventBridge and Lambda event filtering."""

import pytest

from labkit.dataplane.core.patterns import matches

ORDER = {"detail": {"event_type": "OrderPlaced", "total_cents": 3999, "tags": ["gift", "rush"], "note": None}}


@pytest.mark.no_cloud
@pytest.mark.parametrize(
    ("pattern", "matched"),
    [
        ({"detail": {"event_type": ["OrderPlaced", "OrderCancelled"]}}, True),
        ({"detail": {"event_type": ["orderplaced"]}}, False),
        ({"detail": {"event_type": [{"equals-ignore-case": "orderplaced"}]}}, True),
        ({"detail": {"event_type": [{"prefix": "Order"}]}}, True),
        ({"detail": {"event_type": [{"suffix": "Cancelled"}]}}, False),
        ({"detail": {"event_type": [{"anything-but": ["OrderCancelled"]}]}}, True),
        ({"detail": {"event_type": [{"anything-but": {"prefix": "Order"}}]}}, False),
        ({"detail": {"total_cents": [{"numeric": [">=", 1000, "<", 5000]}]}}, True),
        ({"detail": {"total_cents": [3999.0]}}, True),
        ({"detail": {"total_cents": ["3999"]}}, False),
        ({"detail": {"tags": ["rush"]}}, True),
        ({"detail": {"coupon": [{"exists": False}]}}, True),
        ({"detail": {"coupon": [{"exists": True}]}}, False),
        ({"detail": {"note": [None]}}, True),
        ({"detail": {"event_type": ["OrderPlaced"], "total_cents": [0]}}, False),
    ],
)
def test_a_pattern_matches_as_aws_matches_it(pattern, matched):
    assert matches(pattern, ORDER) is matched
