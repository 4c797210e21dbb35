"""Temporal activities: audience paging, message delivery, tasks, notifications, audit.

Empty until the runtime issue lands. Activities never import the API.
"""
