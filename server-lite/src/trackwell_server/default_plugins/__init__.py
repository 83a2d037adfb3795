"""The server's built-in features, as plugins of its own manager (``plugin_manager.DEFAULT_PLUGINS``)."""
