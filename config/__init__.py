"""Runtime configuration: the one place that reads the environment (see `config.settings`)."""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
