"""Built-in features, written as plugins with only the public hook API."""
