"""In-process simulators of every external provider, speaking each provider's wire format."""
