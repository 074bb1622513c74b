"""Grouping face tracks into persons: linkage on faces, clothing refinement, fused HDBSCAN."""
