"""The wire format: resource JSON rendered from domain values, one module per resource."""
