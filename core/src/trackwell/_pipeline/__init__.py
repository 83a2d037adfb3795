"""The write pipeline: everything between ``run.log()`` and the server, in the order data flows.

::

    caller thread        writer thread                 sender thread (online)
    run.log(row) ─► queue ─► writer.py ─► runlog.py ─► sender.py ─► transport.py ─► server
                    (ops.py)  encode,        framed,      tails the    one HTTP client
                              summary,       crash-safe   log, exactly (httpclient.py)
                              media files    file         once

``online.py`` starts the sender for an online run; ``sync.py`` uploads finished local
runs with the same ``Uploader``.

The package is private (its name starts with ``_``): nothing outside the core imports
it except through :mod:`trackwell.extend`, the documented extension API. It never
imports the caller-side API (``trackwell.run``, ``trackwell.session``), the Public API
or artifacts; objects it must encode (media, tables, artifacts) come to it through
their own ``to_record`` interfaces.
"""
