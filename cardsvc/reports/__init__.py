"""Staff reports (members, joins, coverage) and the member export; benefits reports are served
by the benefits package through :mod:`cardsvc.reports.host`."""
