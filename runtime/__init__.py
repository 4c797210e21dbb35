"""Shared runtime contracts: names, ids and payload types that workflows, activities, the worker
and the API all agree on. Pure data, no I/O: workflows may import it.

Temporal payloads carry ids and plan fragments, never personal data. Ids are business keys, so
"the same call twice does the same thing once" follows from Temporal's id uniqueness.
"""
