"""The dialer: claim due attempts, pace them, place calls, record outcomes, recover leases."""
