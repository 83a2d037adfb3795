"""The dashboard: a web UI served by trackwell-server that reads the REST API.

``routes`` serves the pages (one HTML shell; the browser renders each page from the
API with the plain ES modules in ``../static/js``), login/logout (an API key becomes an
HttpOnly session cookie) and the bucketed history the charts draw. ``session`` keeps
the sessions (a row each on the server) and their CSRF tokens; the authenticator
accepts them. See
docs/dashboard.md.
"""
