"""comwit: declarative deploys for Comwit Cloud apps."""

__version__ = "0.1.0"
