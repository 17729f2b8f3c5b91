"""Founding a grassroots union online (网上建会) and the enterprise register behind the
founding-rate (组建率) figures."""
