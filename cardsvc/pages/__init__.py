"""Server-rendered web pages: the member H5 pages (/m/), the shop scan page (/shop/) and the
staff console (/console/). Jinja templates rendered by Litestar, htmx for partial updates,
every asset served by the app (no CDN). See docs/pages.md."""
