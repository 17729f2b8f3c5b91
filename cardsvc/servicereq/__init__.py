"""Member service requests: filed online, handled offline, escalated up the union tree."""
