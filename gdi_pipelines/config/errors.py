class ConfigError(ValueError):
    """A setting that cannot work. The message is one line and starts with the setting's name."""
