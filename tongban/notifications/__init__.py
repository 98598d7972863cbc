"""Notifications to applicants (SMS) and units (their work queues), through an outbox: a message is
a row written in the transaction of the change that causes it, and a worker delivers it through the
configured backend with retries (services.py, backends.py; docs/operations.md "Notifications")."""
