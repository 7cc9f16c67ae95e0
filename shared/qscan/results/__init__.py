"""Normalized scan results: the model (`model`), its JSON Schema and the object stores (S3, Blob)."""
