"""The tool's version: recorded in every clusters.json (settings.tool_version)."""
__version__ = "0.3.0"
