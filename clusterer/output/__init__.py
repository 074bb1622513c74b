"""The result folder: safe writes (lock, staging, switch), export of crops, clusters.json, gallery, CSV."""
