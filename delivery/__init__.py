"""Message delivery: the contact gate, sandboxed templates, the outbox and the channels.

`delivery.deliverer.Deliverer` is the entry point activities use (built once per worker with
`Deliverer.from_settings`); `delivery.testing` has the recording gateway and SMTP server that
tests of every track send to. Nothing here runs inside a workflow: this is activity-side I/O.
"""
