"""Monitoring: rules that raise alerts, the monitoring center, account freezes, camera monitoring."""
