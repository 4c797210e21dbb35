"""Temporal workflow definitions: generic interpreters over a compiled plan fragment.

Empty until the runtime issue lands (campaign runs, journeys, ticket SLAs, lead follow-up).
Workflows do no I/O and import neither storage nor the API.
"""
