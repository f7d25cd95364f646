"""credproc: short-lived AWS credentials from ESC-language environments.

Imports nothing: every entry path (above all the credential_process hot path) stays cheap.
"""
__version__ = "0.1.0"
