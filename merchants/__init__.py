"""Merchants, stores, terminals and their API keys; the merchant-facing API.

Public surface for the composition root: ``merchants.plugin.MerchantsPlugin`` (routes, the
``terminal`` dependency, the ``merchants`` CLI group) and ``merchants.demo.seed_merchants``
(a demo seed step). Handlers of the terminal API declare ``terminal: TerminalContext``
(``merchants.terminal.auth``).
"""
