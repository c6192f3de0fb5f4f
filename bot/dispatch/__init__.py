"""Dispatch: routers, filters, the per-event Context and the worker that runs them."""
