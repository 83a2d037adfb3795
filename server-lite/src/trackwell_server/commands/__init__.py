"""SDK commands that need a server in the process: ``trackwell ui`` and ``trackwell demo``.

They live in the server's distribution so that the core never imports
``trackwell_server``; ``trackwell_server.plugin`` adds them to the ``trackwell``
command line through the SDK's ``register_commands`` hook.
"""
