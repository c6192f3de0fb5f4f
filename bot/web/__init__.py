"""HTTP: webhook ingestion, health and metrics, the JSON API and the dashboard."""
