"""Benchmarks, run with ``python -m benchmarks`` (``make bench``): ratios against a floor measured in the
same run, so machines of any speed compare. They report; they never fail CI."""
