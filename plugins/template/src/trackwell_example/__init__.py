"""trackwell-example: a trackwell plugin (its hooks are in ``trackwell_example.plugin``)."""

__version__ = "0.1.0"
