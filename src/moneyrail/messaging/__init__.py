"""SMS and e-mail: templates, messages sent from the outbox, delivery status."""
