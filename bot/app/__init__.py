"""The process: wiring the parts together, taking updates (polling or webhook), health and metrics."""
