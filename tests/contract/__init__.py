"""Contract suites: the same assertions against the test doubles and, when configured, the real systems."""
