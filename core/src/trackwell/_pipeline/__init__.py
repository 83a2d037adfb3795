"""The write pipeline: everything between ``run.log()`` and the server, in the order data flows.

::

    caller thread        writer thread                      sender thread (online)
    run.log(row) ─► queue ─► writer.py ─► logfile.py ─► sender.py ─► uploader.py ─► transport.py ─► server
                    (ops.py)  rowcheck.py   (runlog.py       the live    records, exactly  one HTTP client
                              mediarecords  framing, crash-  thread      once; files in    (httpclient.py)
                              runfiles.py   safe reader)                 fileupload.py,
                                                                         sync.json in marker.py

- ``ops.py``: the queue's op codes, named once.
- ``writer.py``: the writer thread; ``rowcheck.py`` admits a row's keys and sizes against
  the run's limits, ``mediarecords.py`` turns media and tables into records,
  ``runfiles.py`` keeps ``files/`` (``run.save``, ``output.log``, ``config.yaml``),
  ``logfile.py`` appends to the run log all or nothing.
- ``runlog.py``: the record format, its encoder and its torn-tail-safe reader.
- ``uploader.py``: one run directory to a server, a step at a time (``fileupload.py``,
  ``marker.py``); ``sender.py`` runs it on a thread for a live run, ``sync.py`` for
  ``trackwell sync``; ``online.py`` starts it and asks the server where a run goes on.
- ``ports.py``: what the pipeline is handed rather than imports (how to encode media
  and tables, how to upload artifacts); ``trackwell.wiring`` hands it over.

The package is private (its name starts with ``_``): nothing outside the core imports
it except through :mod:`trackwell.extend`, the documented extension API. It never
imports the caller-side API (``trackwell.run``, ``trackwell.session``), the Public API,
media, tables or artifacts (``tests/arch/test_pipeline_sealed.py``); objects it must
encode come to it through their own ``to_record`` interfaces, via ``ports.Encoding``.
"""
