"""The outbox: durable outgoing messages and platform actions, delivered with pacing."""
