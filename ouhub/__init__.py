"""ouhub: the service around OpenUpgrade."""

__version__ = "0.1.0"
