"""The test suites (`make test`).

A package so that `tests.roles` and `tests.deployment` resolve here: a dependency
(pymultihash) installs a top-level `tests` package into site-packages.
"""
